"""The one switch that rewrites golden vectors: ``KIOSK_REGEN_VECTORS=1``.

A golden test compares what the code produces with a file under ``tests/vectors/``;
with the switch set it writes the file first, so the comparison passes by
construction. ``tests/conftest.py`` therefore refuses to run the suite in CI
(``CI`` set) with the switch on.
"""

from __future__ import annotations

import os

__all__ = ["REGEN_VARIABLE", "regenerating"]

REGEN_VARIABLE = "KIOSK_REGEN_VECTORS"


def regenerating() -> bool:
    """Whether this run rewrites the golden vectors instead of checking them."""
    return os.environ.get(REGEN_VARIABLE) == "1"
