"""Suite-wide settings: a catalogue fault (unknown key, missing placeholder) fails the test."""

from __future__ import annotations

from kiosk.locale import set_strict

set_strict(True)
