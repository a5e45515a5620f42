"""kiosk.insi."""
