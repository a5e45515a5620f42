"""kiosk.soap."""
