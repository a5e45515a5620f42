"""The terminal closes under the app: the app leaves, and the process never stays behind.

A real hang of Textual's driver after a hangup was seen once in the suite (the demo
waited forever at exit, its simulators running). These tests run the signal path of
:mod:`kiosk.tui.launch` in a fresh process with an app that never finishes leaving,
and with one that does, and send the process a real SIGHUP.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]

_APP = """
import asyncio, logging, os, signal, sys
sys.path.insert(0, {root!r})
import kiosk.tui.launch as launch
launch.HANGUP_GRACE_S = 0.5
logging.basicConfig(filename={log!r})  # a terminal that hung up hears nothing more

class App:
    def __init__(self, stuck):
        self.stuck, self.left = stuck, asyncio.Event()
    def exit(self):
        if not self.stuck:
            self.left.set()

async def main(stuck):
    app = App(stuck)
    with launch._leave_on_signals(app):
        os.kill(os.getpid(), signal.SIGHUP)  # the terminal closed
        await app.left.wait()  # a stuck app never gets there
    print("left", flush=True)

asyncio.run(main({stuck}))
"""


def _run(stuck: bool, log: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    code = _APP.format(root=str(ROOT), stuck=stuck, log=str(log))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


def test_an_app_stuck_after_its_terminal_hung_up_leaves_after_the_grace(tmp_path: Path) -> None:
    done, took = _run(stuck=True, log=tmp_path / "kiosk.log")
    assert done.returncode == 129  # 128 + SIGHUP, from the watchdog, not a hang
    logged = (tmp_path / "kiosk.log").read_text()
    assert "did not close within 0.5 s of its terminal's hangup" in logged
    assert "left" not in done.stdout
    assert took < 30


def test_an_app_that_closes_after_a_hangup_is_not_cut_short(tmp_path: Path) -> None:
    done, _ = _run(stuck=False, log=tmp_path / "kiosk.log")
    assert done.returncode == 0, done.stderr
    assert "hangup" not in (tmp_path / "kiosk.log").read_text()


_ON_A_TERMINAL = """
import asyncio, sys
sys.path.insert(0, {root!r})
import kiosk.tui.launch as launch

class App:
    def __init__(self):
        self.left = asyncio.Event()
    def exit(self):
        self.left.set()

async def main():
    app = App()
    with launch._leave_on_signals(app):
        print("ready", flush=True)
        await app.left.wait()
    print("kiosk demo: every simulator stopped.", flush=True)  # as the demo says last
    open({marker!r}, "w").write("left")

asyncio.run(main())
"""


def test_what_is_said_after_the_terminal_closed_does_not_fail(tmp_path: Path) -> None:
    # A real hangup: the process leads a session on a pty, and the pty's other end closes.
    import fcntl
    import os
    import pty
    import termios

    marker = tmp_path / "left"
    main_fd, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", _ON_A_TERMINAL.format(root=str(ROOT), marker=str(marker))],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # its controlling terminal
    )
    os.close(terminal)
    said = b""
    while b"ready" not in said:
        said += os.read(main_fd, 1024)
    os.close(main_fd)  # the terminal is gone: SIGHUP, then EIO on every write to it
    assert child.wait(timeout=60) == 0  # not 70, an internal error on the last line
    assert marker.read_text() == "left"
