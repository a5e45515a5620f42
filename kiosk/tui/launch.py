"""Running the kiosk app in this terminal for a command (``kiosk run``, ``kiosk demo``).

``kiosk.cli`` hands this function to the commands (they may not import the TUI,
their sibling layer). A bug inside the app leaves no traceback on the terminal
(Textual's would show local variables, a PIN among them perhaps): the app stops,
the exception is raised again here, and the CLI logs it to ``internal.log`` and
prints its one line.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager

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
    with _leave_on_signals(app):
        await app.run_async(auto_pilot=None if duration is None else stop_after)
    if app._exception is not None:
        raise app._exception


@contextmanager
def _leave_on_signals(app: KioskApp) -> Iterator[None]:
    """SIGTERM (systemd) and SIGHUP (the terminal closed) leave the app as its own keys do.

    A Python handler raising from the middle of the event loop is not seen by
    Textual, which then runs on with no terminal; the loop's handler asks the app to
    exit, and whoever started it (``kiosk demo``) stops its processes afterwards.
    """
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        loop.add_signal_handler(sig, app.exit)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)
