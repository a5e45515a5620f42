"""TUI tests: no animation, snapshots stored as viewable ``.svg`` files.

The snapshot plugin imports Textual before this file runs, so the animation level
is set on Textual's constant (what ``App`` reads when built), not only in the
environment. No screen has a text input yet, so there is no cursor to stop blinking.
"""

from __future__ import annotations

import pytest
from pytest_textual_snapshot import SVGImageExtension

SVGImageExtension.file_extension = "svg"  # syrupy 7 reads this name, not _file_extension


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setattr("textual.constants.TEXTUAL_ANIMATIONS", "none")
