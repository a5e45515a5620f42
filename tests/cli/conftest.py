"""Run the installed ``kiosk`` console script in a subprocess, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

KIOSK = Path(sys.executable).parent / "kiosk"

RunKiosk = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kiosk(tmp_path: Path) -> RunKiosk:
    """``kiosk(*args, input=None)`` → CompletedProcess, run from a scratch directory."""

    def run(
        *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        return subprocess.run(
            [str(KIOSK), *args],
            capture_output=True,
            text=True,
            input=input,
            cwd=tmp_path,
            env=env,
            timeout=timeout,
            check=False,
        )

    return run
