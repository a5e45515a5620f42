"""Run the installed ``kiosk`` console script in a subprocess, as an operator would."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.command_line import run_script

RunKiosk = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kiosk(tmp_path: Path) -> RunKiosk:
    """``kiosk(*args, input=None)`` → CompletedProcess, run from a scratch directory."""

    def run(
        *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_script(tmp_path, *args, input=input, timeout=timeout)

    return run
