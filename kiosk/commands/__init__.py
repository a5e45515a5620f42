"""The CLI's commands, one module per area; ``kiosk/cli.py`` registers them."""
