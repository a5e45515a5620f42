"""Running the kiosk app in this terminal for a command (``kiosk run``, ``kiosk demo``).

``kiosk.cli`` hands this function to the commands (they may not import the TUI,
their sibling layer). A bug inside the app leaves no traceback on the terminal
(Textual's would show local variables, a PIN among them perhaps): the app stops,
the exception is raised again here, and the CLI logs it to ``internal.log`` and
prints its one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from textual.pilot import Pilot

from kiosk.tui.app import KioskApp
from kiosk.tui.ports import DemoControl, DeskServices

__all__ = ["HANGUP_GRACE_S", "run_app"]

log = logging.getLogger(__name__)

HANGUP_GRACE_S = 10.0
"""How long the app may take to close once its terminal is gone, before the process leaves."""

EXIT_HANGUP = 129
"""The process's exit code when it had to leave that way (128 + SIGHUP)."""


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

    app = _TerminalApp(services, mode=mode, lang=lang, demo=demo, freeze_heap=True)
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
    After a hangup, see :func:`_hung_up`.
    """
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    loop.add_signal_handler(signal.SIGTERM, app.exit)
    loop.add_signal_handler(signal.SIGHUP, _hung_up, app)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)


def _hung_up(app: KioskApp) -> None:
    """The terminal closed: leave the app, and leave the process if that never ends.

    Textual's driver can hang on its way out once the terminal is gone (seen in the
    suite: its output thread had died on the closed terminal, and the app waited on
    it forever at exit, with the demo's simulators still running). Nothing waits
    for a screen that no one can see: past :data:`HANGUP_GRACE_S` the process exits
    at once. Every write it accepted is already committed (SQLite, WAL), and the
    demo's simulators are stopped by the kernel when it goes (``setpriv
    --pdeathsig``, :func:`kiosk.sim.world.bound_to_parent`).
    """

    def leave() -> None:
        log.error(
            "the app did not close within %g s of its terminal's hangup: leaving now",
            HANGUP_GRACE_S,
            extra={"code": "TERMINAL_LOST"},
        )
        logging.shutdown()
        os._exit(EXIT_HANGUP)

    watchdog = threading.Timer(HANGUP_GRACE_S, leave)
    watchdog.daemon = True  # a process that closed in time exits without waiting for it
    watchdog.start()
    _silence_terminal()
    app.exit()


def _silence_terminal() -> None:
    """Point stdout and stderr at ``/dev/null``: the terminal they wrote to is gone.

    A write to a hung-up terminal fails (EIO): the demo's last line ("every simulator
    stopped") turned a clean exit into an internal error, and the driver's own output
    thread can die on it. The log files keep what is said from here on.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)
