"""``kiosk demo`` starts the world, opens the app on it in the terminal, and stops everything.

The app needs a terminal: the test gives it a pseudo-terminal, as a desk's console
is, reads what it draws, and afterwards looks for any process of the world's left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

from kiosk.sim.pki import TestPki
from tests import softhsm as tokens
from tests.cli.conftest import RunKiosk
from tests.command_line import KIOSK

test_pki = tokens.test_pki

_NOT_INHERITED = ("KIOSK_", "TEXTUAL", "PCSCLITE_CSOCK_NAME", "SOFTHSM2_CONF")
"""The test worker's own settings, readers and tokens: the demo must use its world's."""


def test_demo_without_ui_runs_for_a_while_then_stops_everything(
    kiosk: RunKiosk, tmp_path: Path, test_pki: TestPki
) -> None:
    shutil.copytree(test_pki.directory, tmp_path / "var" / "sim" / "pki")  # RSA is slow
    done = kiosk("demo", "--no-ui", "--duration", "1", "--services-port", "0", timeout=240)
    assert done.returncode == 0, done.stderr
    assert "No app (--no-ui)" in done.stdout
    assert "kiosk sim scan" in done.stdout
    assert "every simulator stopped" in done.stdout


def test_bad_config_is_one_clear_line(kiosk: RunKiosk, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "kitchen"\n')
    done = kiosk("--config", str(bad), "demo", "--duration", "0")
    assert done.returncode == 1
    assert "mode" in done.stderr
    assert "Traceback" not in done.stderr


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _group_members(groups: set[int]) -> list[int]:
    """Live processes of these process groups (the world starts each child in its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] != "Z" and int(fields[2]) in groups:
                found.append(int(entry.name))
    return found


def test_demo_opens_the_app_then_leaves_no_process(tmp_path: Path, test_pki: TestPki) -> None:
    shutil.copytree(test_pki.directory, tmp_path / "var" / "sim" / "pki")  # RSA is slow
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    demo = subprocess.Popen(
        [str(KIOSK), "demo", "--duration", "4", "--services-port", "0"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
        env={**env, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()

    def read() -> None:  # the app blocks if nobody reads its terminal
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    state = tmp_path / "var" / "sim" / "world.json"
    pids: set[int] = set()
    deadline = time.monotonic() + 120
    while demo.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):  # absent, or being replaced
            pids |= {p["pid"] for p in json.loads(state.read_text())["processes"]}
        time.sleep(0.1)
    try:
        crash = tmp_path / "var" / "log" / "internal.log"
        code = demo.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert code == 0, crash.read_text() if crash.exists() else screen[-2000:]
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, 9)
        reader.join(timeout=10)
        os.close(master)
    shown = screen.decode("utf-8", errors="replace")
    assert "Insérez votre carte CPE" in shown  # the desk's first screen was drawn
    assert "Simulateurs" in shown  # with the world's light in the footer
    assert "every simulator stopped" in shown
    assert "Traceback" not in shown
    assert {"cards", "services", "feed_sink"} <= _components_seen(tmp_path)
    assert len(pids) >= 3
    assert [pid for pid in pids if _alive(pid)] == []
    assert _group_members(pids) == []  # pcscd and the other grandchildren too
    assert not state.exists()


def _components_seen(tmp_path: Path) -> set[str]:
    """The components whose logs the world wrote (each spawned process has one)."""
    logs = tmp_path / "var" / "sim" / "log"
    return {p.stem.replace("-", "_") for p in logs.glob("*.log")}
