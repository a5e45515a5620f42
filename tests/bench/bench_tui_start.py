"""TUI cold start to the first screen, and its peak RSS: headless, and ``kiosk run`` in a pty.

One simulated world (readers, tokens, INSi/DMP, printer) runs for every round; each
round is a fresh process on it, so imports, settings, services and the app's first
frame are all in the figure. Issue 16's target: ≤ 1.0 s and ≤ 80 MiB on this machine.

- ``headless_*``: ``python -m tests.bench.tui_child SITE`` (settings, ``open_services``,
  ``KioskApp.run_async(headless=True)``) prints a line when the welcome screen's frame
  holds "Insérez votre carte CPE". ``headless_ms`` is timed by this parent, from
  before the fork to that line (interpreter start-up included);
  ``headless_exec_ms`` is the child's own figure from ``/proc/self/stat``'s start time
  (10 ms ticks); ``headless_main_ms`` leaves out the interpreter's start-up and
  the ``site`` imports, and splits into ``headless_imports_ms`` (``kiosk.config``,
  ``kiosk.wiring``, ``kiosk.tui.app``), ``headless_services_ms`` (settings and
  ``open_services``, with the imports it does) and ``headless_app_ms`` (the app to its
  first frame). ``headless_rss_mib`` is the child's ``VmHWM`` at that frame.
- ``pty_*``: ``kiosk run --config SITE`` under a pseudo-terminal of 100×30. This parent
  reads what it draws into a small screen model (cursor moves and text,
  :class:`tests.bench.tui_world.Screen`) until a row shows the welcome text;
  ``pty_ms`` is from before the fork to that read, ``pty_rss_mib`` the child's
  ``VmHWM`` read then from ``/proc/<pid>/status``. Then Ctrl-Q, else SIGTERM.

- ``headless_idle_rss_mib``: the headless child's ``VmHWM`` once the app's first round of
  footer probes has ended (the printer's status asked): the desk at rest, before any
  agent. Printing a receipt then loads the renderer (Pillow, NumPy: see
  :mod:`kiosk.services.credentials`).

Bytecode is cached as on an installed appliance. The first round of each kind is kept
apart (``*_first_ms``: it compiles every module and the page cache may be cold) and
left out of the medians.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

from tests.bench.tui_world import Screen, World, bench_world, figures, peak_rss_mib

ROUNDS = 6
"""Rounds of each kind, after the first one (kept apart)."""

WELCOME = "Insérez votre carte CPE"
SIZE = (100, 30)
BOUND_S = 30.0
TARGET_MS = 1000.0
TARGET_MIB = 80.0


def _clean_env(world: World) -> dict[str, str]:
    """The environment of a kiosk started by hand: the world's sockets come from its state.

    Bytecode is cached, as on an installed appliance (this sandbox sets
    ``PYTHONDONTWRITEBYTECODE``; the cache goes under the world's home, never into the
    tree).
    """
    env = {k: v for k, v in os.environ.items() if k not in world.env}
    for name in ("TEXTUAL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = str(world.home / "pycache")
    env["TMPDIR"] = str(world.home / "tmp")
    return env


def headless_round(world: World) -> dict[str, float]:
    """One fresh headless process to the welcome frame, then to the end of its first probes."""
    env = _clean_env(world)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.tui_child", str(world.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        seen = time.perf_counter()
        if not line:
            raise RuntimeError(f"headless child said nothing: {child.communicate()[1][-2000:]!r}")
        child_says = json.loads(line)
        idle = json.loads(child.stdout.readline() or "{}")
        child.wait(BOUND_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return {
        "ms": (seen - started) * 1e3,
        "exec_ms": child_says["since_exec_s"] * 1e3,
        "main_ms": child_says["since_main_s"] * 1e3,
        "imports_ms": child_says["imports_s"] * 1e3,
        "services_ms": child_says["services_s"] * 1e3,
        "app_ms": child_says["app_s"] * 1e3,
        "rss_mib": child_says["vm_hwm_mib"],
        "idle_rss_mib": idle.get("idle_vm_hwm_mib", float("nan")),
    }


def _kiosk_command() -> list[str]:
    script = Path(sys.executable).parent / "kiosk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kiosk"]


def pty_round(world: World) -> dict[str, float]:
    """``kiosk run --config SITE`` in a pty until its screen shows the welcome text."""
    argv = [*_kiosk_command(), "run", "--config", str(world.config)]
    env = {**_clean_env(world), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    columns, lines = SIZE
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader with the pty as its terminal
        with contextlib.suppress(BaseException):
            winsize = struct.pack("HHHH", lines, columns, 0, 0)
            fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
            os.execve(argv[0], argv, env)
        os._exit(127)
    screen = Screen(columns, lines)
    seen = rss = None
    transcript = bytearray()
    try:
        deadline = started + BOUND_S
        while seen is None and time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal: it failed
                break
            transcript += data
            screen.feed(data)
            if screen.shows(WELCOME):
                seen = time.perf_counter()
                rss = peak_rss_mib(pid)
        if seen is None or rss is None:
            tail = transcript[-1500:].decode(errors="replace")
            raise RuntimeError(f"kiosk run never showed the welcome text: {tail!r}")
    finally:
        _stop(pid, fd)
    return {"ms": (seen - started) * 1e3, "rss_mib": rss}


def _stop(pid: int, fd: int) -> None:
    """Ctrl-Q (Textual's quit), then SIGTERM, then SIGKILL: this child only, by its PID."""
    with contextlib.suppress(OSError):
        os.write(fd, b"\x11")
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                while select.select([fd], [], [], 0)[0] and os.read(fd, 65536):
                    pass  # keep the pty drained so the child can write its last frame
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                os.close(fd)
                return
            time.sleep(0.02)
    os.close(fd)


def _series(rounds: list[dict[str, float]], key: str) -> list[float]:
    return [r[key] for r in rounds]


def run() -> dict[str, Any]:
    """Start a world, then fresh headless and pty processes on it, one after the other."""
    with bench_world("bench-tui-start-") as world:
        for folder in ("pycache", "tmp"):
            (world.home / folder).mkdir()
        headless = [headless_round(world) for _ in range(ROUNDS + 1)]
        in_pty = [pty_round(world) for _ in range(ROUNDS + 1)]
    first_headless, first_pty = headless.pop(0), in_pty.pop(0)
    summary: dict[str, Any] = {
        **figures("headless_ms", _series(headless, "ms")),
        **figures("headless_exec_ms", _series(headless, "exec_ms")),
        **figures("headless_main_ms", _series(headless, "main_ms")),
        **figures("headless_imports_ms", _series(headless, "imports_ms")),
        **figures("headless_services_ms", _series(headless, "services_ms")),
        **figures("headless_app_ms", _series(headless, "app_ms")),
        **figures("headless_rss_mib", _series(headless, "rss_mib")),
        **figures("headless_idle_rss_mib", _series(headless, "idle_rss_mib")),
        **figures("pty_ms", _series(in_pty, "ms")),
        **figures("pty_rss_mib", _series(in_pty, "rss_mib")),
        "headless_first_ms": round(first_headless["ms"], 1),
        "pty_first_ms": round(first_pty["ms"], 1),
        "target_ms": TARGET_MS,
        "target_mib": TARGET_MIB,
    }
    worst_ms = max(summary["headless_ms_p95"], summary["pty_ms_p95"])
    worst_mib = max(
        summary["headless_rss_mib_max"],
        summary["pty_rss_mib_max"],
        summary["headless_idle_rss_mib_max"],
    )
    summary["within_target"] = worst_ms <= TARGET_MS and worst_mib <= TARGET_MIB
    return {
        "summary": summary,
        "rounds": ROUNDS,
        "timed_from": "the parent, from before the fork to the frame (pty: the read) "
        "that shows the welcome text; *_exec_ms from /proc/self/stat's start time",
        "headless": headless,
        "pty": in_pty,
    }
