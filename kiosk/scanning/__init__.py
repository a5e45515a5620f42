"""kiosk.scanning."""
