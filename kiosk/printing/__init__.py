"""kiosk.printing."""
