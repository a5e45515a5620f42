"""kiosk.tui."""
