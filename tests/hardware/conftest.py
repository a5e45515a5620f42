"""The CLI as the hardware tests drive it."""

from tests.command_line import kiosk_main

__all__ = ["kiosk_main"]
