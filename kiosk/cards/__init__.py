"""kiosk.cards."""
