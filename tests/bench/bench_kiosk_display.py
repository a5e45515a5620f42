"""Which display the self-service kiosk uses: cage + foot, or cage + a browser (textual-serve).

Issue 18 item 5. Both routes run here under ``cage`` (the Wayland kiosk compositor) on
wlroots' headless backend with the pixman renderer (no GPU in this machine; the
Pi's GLES renderer is not measured here), as an unprivileged user (cage refuses
root). Measured:

- ``foot_start_ms``: cage started → a program inside ``foot`` runs (what the kiosk
  adds before Python starts; the app's own start is ``bench_tui_start``);
- ``cage_pss_mib`` / ``foot_pss_mib``: proportional set size of each, foot idle;
- ``foot_cells_by_size``: the cell grid foot gives on the headless 1280×720 output
  for each font size, and ``cells_800x480_by_size``, the grid those cells make on an
  800×480 panel (the headless output's mode cannot be set with the pixman renderer);
- ``browser_pss_mib``: the sum of PSS over every Chromium process, in ``--kiosk``
  mode on a static page served on 127.0.0.1 — the least the browser route costs,
  before textual-serve's own server and the app it runs. Only when ``chromium`` is
  installed (it is not a project package: ``apt-get install chromium``).

Skipped, saying why, when cage or foot is absent or this is not root (to run as
``nobody``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from tests.bench.tui_world import figures

NOBODY = 65534
SIZES = (14, 16, 18, 19, 20, 22)
ROUNDS = 5
HEADLESS = (1280, 720)
PANEL = (800, 480)


def _cage(scratch: Path, script: str, bound_s: float = 60) -> None:
    """Run ``script`` (sh) as the only client of a headless cage, as ``nobody``."""
    path = scratch / "client.sh"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "XDG_RUNTIME_DIR": str(scratch / "xdg"),
        "WLR_BACKENDS": "headless",
        "WLR_RENDERER": "pixman",
        "WLR_LIBINPUT_NO_DEVICES": "1",
    }
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    subprocess.run(
        [*command, "cage", "--", str(path)],
        env=env,
        cwd=scratch,
        timeout=bound_s,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _read(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def run() -> dict[str, Any]:
    missing = [tool for tool in ("cage", "foot", "setpriv") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        why = f"missing {missing}" if missing else "not root (cage runs as nobody)"
        return {"summary": {"skipped": why}}
    with tempfile.TemporaryDirectory(prefix="bench-display-") as name:
        scratch = Path(name)
        (scratch / "xdg").mkdir(mode=0o700)
        os.chown(scratch, NOBODY, NOBODY)
        os.chown(scratch / "xdg", NOBODY, NOBODY)
        out = scratch / "out.txt"

        starts = []
        for _ in range(ROUNDS):
            out.unlink(missing_ok=True)
            began = time.time()
            _cage(scratch, f"foot sh -c 'date +%s.%N > {out}'\n")
            if _read(out):
                starts.append((float(_read(out)) - began) * 1e3)

        out.unlink(missing_ok=True)
        _cage(
            scratch,
            f"""\
            foot sh -c 'sleep 2; for p in cage foot; do
              pid=$(pgrep -n -x $p)
              echo $p $(grep "^Pss:" /proc/$pid/smaps_rollup | tr -s " " | cut -d" " -f2)
            done > {out}'
            """,
        )
        pss = dict(line.split() for line in _read(out).splitlines() if len(line.split()) == 2)

        out.unlink(missing_ok=True)
        loop = "".join(
            f"foot -o 'font=DejaVu Sans Mono:size={size}' sh -c "
            f"'sleep 0.5; echo {size} $(stty size) >> {out}'\n"
            for size in SIZES
        )
        _cage(scratch, loop)
        cells = {}
        for line in _read(out).splitlines():
            size, lines, cols = line.split()  # stty size: rows, then columns
            cells[size] = [int(cols), int(lines)]
        on_panel = {
            size: [cols * PANEL[0] // HEADLESS[0], lines * PANEL[1] // HEADLESS[1]]
            for size, (cols, lines) in cells.items()
        }

        browser: dict[str, Any] = {"browser": "chromium not installed"}
        if shutil.which("chromium") is not None:
            browser = _browser(scratch)

    summary: dict[str, Any] = {
        **figures("foot_start_ms", starts),
        "cage_pss_mib": round(int(pss.get("cage", 0)) / 1024, 1),
        "foot_pss_mib": round(int(pss.get("foot", 0)) / 1024, 1),
        "foot_cells_by_size": cells,
        "cells_800x480_by_size": on_panel,
        **browser,
        "renderer": "pixman (headless)",
    }
    return {"summary": summary, "rounds": ROUNDS}


def _browser(scratch: Path) -> dict[str, Any]:
    """Chromium in kiosk mode on a static local page: its processes' summed PSS."""
    www = scratch / "www"
    www.mkdir()
    (www / "index.html").write_text("<html><body>kiosk</body></html>")
    os.chown(www, NOBODY, NOBODY)
    server = subprocess.Popen(
        ["python3", "-m", "http.server", "8765", "--bind", "127.0.0.1"],
        cwd=www,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = scratch / "browser.txt"
    try:
        _cage(
            scratch,
            f"""\
            chromium --kiosk --ozone-platform=wayland --no-first-run \\
              --disable-background-networking --disable-component-update --disable-sync \\
              --user-data-dir={scratch}/profile http://127.0.0.1:8765/ &
            sleep 8
            total=0; count=0
            for pid in $(pgrep -f chromium); do
              kib=$(grep "^Pss:" /proc/$pid/smaps_rollup 2>/dev/null | tr -s " " | cut -d" " -f2)
              total=$((total + ${{kib:-0}})); count=$((count + 1))
            done
            echo $total $count > {out}
            pkill -f chromium
            """,
            bound_s=90,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = _read(out).split()
    if len(text) != 2:
        return {"browser": "chromium did not start under cage"}
    return {"browser_pss_mib": round(int(text[0]) / 1024, 1), "browser_processes": int(text[1])}
