"""Suite-wide settings: a catalogue fault (unknown key, missing placeholder) fails the test."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.locale import set_strict
from kiosk.sim.schemas import SCHEMAS_ENV

set_strict(True)

# Every simulator a test starts (in process or as a subprocess) checks requests against
# the published schemas beside the checkout; tests/conformance fails when they are missing.
os.environ.setdefault(
    SCHEMAS_ENV, str(Path(__file__).resolve().parents[1].parent / "shared" / "schemas")
)


def pytest_configure(config: object) -> None:
    """Refuse to run in CI with golden-vector regeneration on: every golden test would pass."""
    import os

    from tests.vectors_regen import REGEN_VARIABLE, regenerating

    if os.environ.get("CI") and (regenerating() or os.environ.get(REGEN_VARIABLE)):
        raise SystemExit(
            f"{REGEN_VARIABLE} is set in CI: golden vectors would be rewritten, not checked."
        )
