"""kiosk.dmp."""
