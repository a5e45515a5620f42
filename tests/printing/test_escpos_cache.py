"""python-escpos keeps its parsed capabilities where the kiosk says: a start does not re-parse.

And it loads with the first job, not with the desk: a desk waiting for its first agent
does not pay for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_FIRST_JOB = "import kiosk.printing.printers as p; p._escpos()"
"""What the first job (or status question) does before it opens the device."""


def _import_printers(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", _FIRST_JOB], env=env, check=True, timeout=120)


def test_the_printers_module_leaves_python_escpos_for_the_first_job(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    probe = (
        "import sys, kiosk.printing.printers as p\n"
        "p.EscposPrinter.network('127.0.0.1', 9)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('escpos', 'yaml', 'usb')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, timeout=120, capture_output=True
    )
    assert shown.stdout.decode().strip() == "[]"
    assert not (tmp_path / "kiosk").exists()  # nor its capabilities cache


def test_the_capabilities_are_pickled_once_in_the_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    _import_printers(env)
    pickles = list((tmp_path / "kiosk" / "escpos").glob("*.capabilities.pickle"))
    assert len(pickles) == 1
    made = pickles[0].stat().st_mtime_ns
    _import_printers(env)
    assert pickles[0].stat().st_mtime_ns == made  # read again, not parsed and written again


def test_a_directory_the_site_sets_wins(tmp_path: Path) -> None:
    chosen = tmp_path / "site"
    chosen.mkdir()
    env = {**os.environ, "ESCPOS_CAPABILITIES_PICKLE_DIR": str(chosen)}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    _import_printers(env)
    assert list(chosen.glob("*.capabilities.pickle"))
    assert not (tmp_path / "cache" / "kiosk").exists()
