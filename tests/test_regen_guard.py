"""The suite refuses to run in CI with the golden-vector switch on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/domain/test_purity.py::test_the_glob_sees_the_domain"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_ci_with_regeneration_on_is_refused() -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "KIOSK_REGEN_VECTORS")}
    refused = _pytest({**base, "CI": "true", "KIOSK_REGEN_VECTORS": "1"})
    assert refused.returncode != 0
    assert "KIOSK_REGEN_VECTORS is set in CI" in refused.stdout + refused.stderr
    assert _pytest({**base, "CI": "true"}).returncode == 0
