"""The appliance's systemd units, checked by systemd itself (``systemd-analyze verify``).

Issue 19: "Units checked with systemd-analyze verify". The unit names the image's
paths (``/opt/kiosk/.venv/bin/kiosk``); here its ``ExecStart`` points at a stand-in
executable, which ``verify`` requires to exist, and nothing else of it changes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[2] / "firmware_cfg" / "systemd"

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze (systemd)"
)


def _verify(unit_text: str, tmp_path: Path, name: str = "kiosk.service") -> str:
    stand_in = tmp_path / "kiosk"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={stand_in}", unit_text, flags=re.M)
    path = tmp_path / name
    path.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "\n".join(
        line
        for line in (done.stdout + done.stderr).splitlines()
        if name in line or str(path) in line
    )


def test_the_kiosk_unit_verifies(tmp_path: Path) -> None:
    unit = (UNITS / "kiosk.service").read_text()
    assert "Type=notify" in unit  # the app says READY=1 and feeds WatchdogSec
    assert re.search(r"^WatchdogSec=\d+", unit, flags=re.M)
    assert _verify(unit, tmp_path) == ""


def test_a_broken_unit_is_caught(tmp_path: Path) -> None:
    unit = (UNITS / "kiosk.service").read_text().replace("Type=notify", "Type=notfy")
    assert "Failed to parse service type" in _verify(unit, tmp_path)
