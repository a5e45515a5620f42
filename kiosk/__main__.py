"""``python -m kiosk`` is the CLI."""

from kiosk.cli import main

main()
