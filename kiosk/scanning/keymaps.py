"""Keyboard layouts of keyboard-wedge scanners: Linux key codes → characters, and back.

A wedge scanner types the symbol as key presses chosen for the host's layout, so
the same "1" arrives as ``KEY_1`` from a scanner set to QWERTY and as Shift+``KEY_1``
from one set to AZERTY (French). The kiosk grabs the device and reads key codes, so
it must apply the layout the scanner is configured for (``[scanner] keymap``).
Key codes are the kernel's (``linux/input-event-codes.h``); no evdev import here.
GS (0x1D) is typed as Ctrl+``]`` (the key right of P on either layout) or as an
Alt+keypad code (Alt 029); both are decoded in ``kiosk.scanning.devices``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "KEYMAPS",
    "KEYPAD_DIGITS",
    "KEY_ENTER",
    "KEY_KPENTER",
    "KEY_RIGHTBRACE",
    "MODIFIERS",
    "Keymap",
    "keystrokes_for",
]

KEY_ENTER: Final = 28
KEY_KPENTER: Final = 96
KEY_RIGHTBRACE: Final = 27

SHIFT, CTRL, ALT, ALTGR = "shift", "ctrl", "alt", "altgr"
MODIFIERS: Final = {42: SHIFT, 54: SHIFT, 29: CTRL, 97: CTRL, 56: ALT, 100: ALTGR}
"""LEFTSHIFT, RIGHTSHIFT, LEFTCTRL, RIGHTCTRL, LEFTALT, RIGHTALT (AltGr)."""

KEYPAD_DIGITS: Final = {82: 0, 79: 1, 80: 2, 81: 3, 75: 4, 76: 5, 77: 6, 71: 7, 72: 8, 73: 9}

Keymap = dict[int, tuple[str, str, str]]
"""Key code → (plain, with Shift, with AltGr); an empty string where nothing is typed."""

_ROW_Q = range(16, 26)  # Q W E R T Y U I O P
_ROW_A = range(30, 39)  # A S D F G H J K L
_ROW_Z = range(44, 51)  # Z X C V B N M
_DIGITS = range(2, 12)  # 1 2 3 4 5 6 7 8 9 0


def _letters(rows: tuple[str, str, str]) -> Keymap:
    out: Keymap = {}
    for codes, letters in zip((_ROW_Q, _ROW_A, _ROW_Z), rows, strict=True):
        for code, letter in zip(codes, letters, strict=False):
            out[code] = (letter, letter.upper(), "")
    return out


_KEYPAD: Keymap = {code: (str(digit), "", "") for code, digit in KEYPAD_DIGITS.items()} | {
    55: ("*", "", ""),
    74: ("-", "", ""),
    78: ("+", "", ""),
    83: (".", "", ""),
    98: ("/", "", ""),
}

QWERTY: Final[Keymap] = (
    _letters(("qwertyuiop", "asdfghjkl", "zxcvbnm"))
    | {code: (d, s, "") for code, d, s in zip(_DIGITS, "1234567890", "!@#$%^&*()", strict=True)}
    | {
        12: ("-", "_", ""),
        13: ("=", "+", ""),
        26: ("[", "{", ""),
        27: ("]", "}", ""),
        39: (";", ":", ""),
        40: ("'", '"', ""),
        41: ("`", "~", ""),
        43: ("\\", "|", ""),
        51: (",", "<", ""),
        52: (".", ">", ""),
        53: ("/", "?", ""),
        57: (" ", " ", ""),
    }
    | _KEYPAD
)

AZERTY: Final[Keymap] = (
    _letters(("azertyuiop", "qsdfghjkl", "wxcvbn"))
    | {
        code: (d, s, g)
        for code, d, s, g in zip(
            _DIGITS,
            "&é\"'(-è_çà",
            "1234567890",
            ["", "~", "#", "{", "[", "|", "`", "\\", "^", "@"],
            strict=True,
        )
    }
    | {
        12: (")", "°", "]"),
        13: ("=", "+", "}"),
        26: ("^", "¨", ""),  # dead keys on a real keyboard; scanners send them plain
        27: ("$", "£", "¤"),
        40: ("ù", "%", ""),
        41: ("²", "", ""),
        43: ("*", "µ", ""),
        50: (",", "?", ""),
        51: (";", ".", ""),
        52: (":", "/", ""),
        53: ("!", "§", ""),
        57: (" ", " ", ""),
        86: ("<", ">", ""),
        18: ("e", "E", "€"),
        39: ("m", "M", ""),
    }
    | _KEYPAD
)

KEYMAPS: Final[dict[str, Keymap]] = {"qwerty": QWERTY, "azerty": AZERTY}


def keystrokes_for(char: str, keymap: Keymap) -> tuple[frozenset[str], int] | None:
    """The modifiers and key code that type ``char`` on ``keymap`` (main block first)."""
    for code, (plain, shifted, altgr) in keymap.items():
        if code in KEYPAD_DIGITS or code in (55, 74, 78, 83, 98):
            continue
        if plain == char:
            return frozenset(), code
        if shifted == char:
            return frozenset({SHIFT}), code
        if altgr == char:
            return frozenset({ALTGR}), code
    return None
