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
import asyncio, os, signal, sys
sys.path.insert(0, {root!r})
import kiosk.tui.launch as launch
launch.HANGUP_GRACE_S = 0.5

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


def _run(stuck: bool) -> tuple[subprocess.CompletedProcess[str], float]:
    code = _APP.format(root=str(ROOT), stuck=stuck)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


def test_an_app_stuck_after_its_terminal_hung_up_leaves_after_the_grace() -> None:
    done, took = _run(stuck=True)
    assert done.returncode == 129  # 128 + SIGHUP, from the watchdog, not a hang
    assert "did not close within 0.5 s of its terminal's hangup" in done.stderr
    assert "left" not in done.stdout
    assert took < 30


def test_an_app_that_closes_after_a_hangup_is_not_cut_short() -> None:
    done, _ = _run(stuck=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "left"
    assert "hangup" not in done.stderr
