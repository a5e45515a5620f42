"""Suite-wide settings: a catalogue fault (unknown key, missing placeholder) fails the test."""

from __future__ import annotations

from kiosk.locale import set_strict

set_strict(True)


def pytest_configure(config: object) -> None:
    """Refuse to run in CI with golden-vector regeneration on: every golden test would pass."""
    import os

    from tests.vectors_regen import REGEN_VARIABLE, regenerating

    if os.environ.get("CI") and (regenerating() or os.environ.get(REGEN_VARIABLE)):
        raise SystemExit(
            f"{REGEN_VARIABLE} is set in CI: golden vectors would be rewritten, not checked."
        )
