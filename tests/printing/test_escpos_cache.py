"""python-escpos keeps its parsed capabilities where the kiosk says: a start does not re-parse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _import_printers(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-c", "import kiosk.printing.printers"], env=env, check=True, timeout=120
    )


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
