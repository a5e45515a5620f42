"""Turning a scanner's raw input into reads: key events of a wedge, bytes of a serial port.

Pure and synchronous, so recorded evdev streams and serial captures test exactly what
the devices run. A read ends at Enter (wedge) or CR/LF (serial); GS arrives as
Ctrl+``]``, as Alt+keypad 029, or as one of the configured substitutes (DOMAIN.md §3:
wedges often drop or remap it). Keys outside the configured layout reject the read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kiosk.errors import ConfigError, InvalidInput
from kiosk.locale import msg
from kiosk.scanning.keymaps import (
    KEY_ENTER,
    KEY_KPENTER,
    KEY_RIGHTBRACE,
    KEYMAPS,
    KEYPAD_DIGITS,
    MODIFIERS,
    keystrokes_for,
)
from kiosk.scanning.ports import ScanEvent, ScanPayload, ScanRejected

__all__ = [
    "DEFAULT_GS_SUBSTITUTES",
    "GS",
    "SerialFramer",
    "WedgeDecoder",
    "key_event",
    "wedge_events",
]

GS: Final = "\x1d"
DEFAULT_GS_SUBSTITUTES: Final = ("\x1d", "<GS>", "^]", "~")
_MAX_PAYLOAD: Final = 4096
_EV_KEY: Final = 1


def _cut_short(source: str) -> ScanRejected:
    return ScanRejected(
        InvalidInput(
            msg("scanning.framing.cut_short"),
            detail=f"{source}: no terminator within the gap",
        ),
        source,
    )


def _unreadable(source: str, keymap: str, bad: int) -> ScanRejected:
    layout = keymap.upper()
    return ScanRejected(
        InvalidInput(
            msg("scanning.framing.unreadable", layout=layout),
            detail=f"{source}: {bad} unmapped key(s)",
        ),
        source,
    )


def _too_long(source: str) -> ScanRejected:
    return ScanRejected(
        InvalidInput(
            msg("scanning.framing.too_long"),
            detail=f"{source}: over {_MAX_PAYLOAD} bytes without terminator",
        ),
        source,
    )


def _normalise_gs(text: str, substitutes: Sequence[str]) -> str:
    # Longest first, so "<GS>" is not half-eaten by a one-character substitute.
    for sub in sorted((s for s in substitutes if s and s != GS), key=len, reverse=True):
        text = text.replace(sub, GS)
    return text


class WedgeDecoder:
    """Key events of a keyboard-wedge scanner → payloads; pure, fed by evdev or recordings."""

    def __init__(
        self,
        keymap: str = "azerty",
        gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES,
        source: str = "hid",
    ) -> None:
        if keymap not in KEYMAPS:
            raise ConfigError(
                msg("scanning.framing.module", keymap=keymap),
            )
        self.keymap_name = keymap
        self._keymap = KEYMAPS[keymap]
        self._substitutes = tuple(gs_substitutes)
        self.source = source
        self._held: set[str] = set()
        self._alt_digits = ""
        self._chars: list[str] = []
        self._bad = 0

    @property
    def pending(self) -> bool:
        """True while a read has started and not ended."""
        return bool(self._chars or self._bad or self._alt_digits)

    def abandon(self) -> ScanRejected | None:
        """The keys stopped before Enter: drop the partial read and say so."""
        if not self.pending:
            return None
        self._reset()
        return _cut_short(self.source)

    def feed(self, code: int, value: int) -> ScanEvent | None:
        """One key event (value 1 down, 0 up, 2 repeat); a finished read when Enter comes."""
        modifier = MODIFIERS.get(code)
        if modifier is not None:
            if value == 1:
                self._held.add(modifier)
            elif value == 0:
                self._held.discard(modifier)
                if modifier == "alt" and self._alt_digits:
                    self._chars.append(chr(int(self._alt_digits) % 256))
                    self._alt_digits = ""
            return None
        if value != 1:
            return None  # releases, and autorepeat a scanner never means
        if code in (KEY_ENTER, KEY_KPENTER):
            return self._finish()
        if "alt" in self._held and code in KEYPAD_DIGITS:
            self._alt_digits += str(KEYPAD_DIGITS[code])
        elif "ctrl" in self._held:
            if code == KEY_RIGHTBRACE:
                self._chars.append(GS)
            else:
                self._bad += 1
        else:
            plain, shifted, altgr = self._keymap.get(code, ("", "", ""))
            char = altgr if "altgr" in self._held else shifted if "shift" in self._held else plain
            if char:
                self._chars.append(char)
            else:
                self._bad += 1
        if len(self._chars) > _MAX_PAYLOAD:
            self._reset()
            return _too_long(self.source)
        return None

    def _finish(self) -> ScanEvent | None:
        text, bad = "".join(self._chars), self._bad
        self._reset()
        if bad:
            return _unreadable(self.source, self.keymap_name, bad)
        if not text:
            return None
        return ScanPayload(_normalise_gs(text, self._substitutes).encode("utf-8"), self.source)

    def _reset(self) -> None:
        self._chars.clear()
        self._bad = 0
        self._alt_digits = ""


class SerialFramer:
    """Bytes of a serial/CDC scanner → payloads, one per CR, LF or CR LF."""

    def __init__(
        self, gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES, source: str = "serial"
    ) -> None:
        self._substitutes = tuple(gs_substitutes)
        self._buffer = bytearray()
        self.source = source

    @property
    def pending(self) -> bool:
        """True while bytes of an unfinished read are held."""
        return bool(self._buffer)

    def abandon(self) -> ScanRejected | None:
        """The bytes stopped before the terminator: drop them and say so."""
        if not self._buffer:
            return None
        self._buffer.clear()
        return _cut_short(self.source)

    def feed(self, data: bytes) -> list[ScanEvent]:
        """Some bytes; every read they complete."""
        events: list[ScanEvent] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._buffer:
                    text = bytes(self._buffer).decode("latin-1")
                    data_out = _normalise_gs(text, self._substitutes).encode("latin-1")
                    events.append(ScanPayload(data_out, self.source))
                    self._buffer.clear()
            elif len(self._buffer) >= _MAX_PAYLOAD:
                self._buffer.clear()
                events.append(_too_long(self.source))
            else:
                self._buffer.append(byte)
        return events


def key_event(ev_type: int, code: int, value: int) -> tuple[int, int] | None:
    """The key part of an input event (``EV_KEY``); None for ``EV_MSC``, ``EV_SYN`` and the rest."""
    return (code, value) if ev_type == _EV_KEY else None


def wedge_events(text: str, keymap: str = "azerty", *, gs: str = "ctrl") -> list[tuple[int, int]]:
    """The key events a wedge scanner set to ``keymap`` types for ``text``, then Enter.

    ``gs`` says how GS is typed: ``ctrl`` (Ctrl+]) or ``alt`` (Alt + keypad 0 2 9).
    """
    table = KEYMAPS[keymap]
    press = {"shift": 42, "altgr": 100}
    out: list[tuple[int, int]] = []
    for char in text:
        if char == GS:
            if gs == "alt":
                out += [(56, 1), (82, 1), (82, 0), (80, 1), (80, 0), (73, 1), (73, 0), (56, 0)]
            else:
                out += [(29, 1), (KEY_RIGHTBRACE, 1), (KEY_RIGHTBRACE, 0), (29, 0)]
            continue
        found = keystrokes_for(char, table)
        if found is None:
            raise InvalidInput(
                msg("scanning.framing.wedge_events", upper=keymap.upper(), char=char),
            )
        modifiers, code = found
        out += [(press[m], 1) for m in sorted(modifiers)]
        out += [(code, 1), (code, 0)]
        out += [(press[m], 0) for m in sorted(modifiers)]
    return [*out, (KEY_ENTER, 1), (KEY_ENTER, 0)]
