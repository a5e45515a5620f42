"""Running the kiosk app in this terminal for a command (``kiosk run``, ``kiosk demo``).

``kiosk.cli`` hands this function to the commands (they may not import the TUI,
their sibling layer). A bug inside the app leaves no traceback on the terminal
(Textual's would show local variables, a PIN among them perhaps): the app stops,
the exception is raised again here, and the CLI logs it to ``internal.log`` and
prints its one line.
"""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot

from kiosk.tui.app import KioskApp
from kiosk.tui.ports import DemoControl, DeskServices

__all__ = ["run_app"]


class _TerminalApp(KioskApp):
    """The app as a command runs it: a crash is the CLI's to report, not Textual's.

    It stays beside ``app.py``: Textual reads ``CSS_PATH`` relative to the subclass's file.
    """

    def _fatal_error(self) -> None:
        self.bell()
        self._close_messages_no_wait()


async def run_app(
    services: DeskServices,
    *,
    mode: str,
    lang: str,
    demo: DemoControl | None = None,
    duration: float | None = None,
) -> None:
    """Run the app until it is left, or for ``duration`` seconds; re-raise a crash."""

    async def stop_after(pilot: Pilot[object]) -> None:
        await asyncio.sleep(duration or 0.0)
        pilot.app.exit()

    app = _TerminalApp(services, mode=mode, lang=lang, demo=demo)
    await app.run_async(auto_pilot=None if duration is None else stop_after)
    if app._exception is not None:
        raise app._exception
