"""kiosk.services."""
