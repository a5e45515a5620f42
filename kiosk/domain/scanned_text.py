"""Text as a scanner or decoder delivers it, made ready for a parser that counts GS.

zxing-cpp hands over bytes; keyboard-wedge scanners type characters, often prefixing an
AIM symbology identifier (``]d2``), ending with Enter, and remapping the invisible GS
(0x1D) to something visible — or dropping it (FIELD-NOTES, DOMAIN.md §3). This module
decodes, strips the prefix and the line end, turns the configured substitutes back into
GS, and remembers where they were so that an error offset points into the text as
received.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_GS_SUBSTITUTES",
    "GS",
    "ScannedText",
    "decode_scanned",
]

GS = "\x1d"
# What scanners and decoders send for GS: zxing-cpp's text mode writes ``<GS>`` or the
# visible symbol U+241D (FIELD-NOTES); keyboard wedges send ``^]`` (Ctrl-]) or a
# configured character. None of these can occur inside a valid INS field.
DEFAULT_GS_SUBSTITUTES: tuple[str, ...] = ("<GS>", "[GS]", "{GS}", "^]", "\u241d", "~")
# AIM symbology identifier some scanners prepend (``]d1``, ``]d2`` … for Data Matrix).
_AIM_PREFIX = "]d"
_LINE_ENDS = "\r\n"


@dataclass(frozen=True)
class ScannedText:
    """The cleaned text, and the way back to offsets in the text as received."""

    text: str
    base: int  # characters dropped in front (AIM prefix)
    spans: tuple[tuple[int, int], ...] = ()  # substitutes replaced, in received offsets

    def at(self, index: int) -> int:
        """The offset in the received text of ``text[index]`` (or of its end)."""
        shift = 0
        for start, end in self.spans:
            if start - self.base - shift >= index:
                break
            shift += end - start - 1
        return self.base + index + shift


@functools.lru_cache(maxsize=16)
def _substitute_pattern(substitutes: tuple[str, ...]) -> re.Pattern[str] | None:
    # Longest first, so that ``<GS>`` wins over a configured ``<`` or ``GS``.
    subs = sorted({s for s in substitutes if s and s != GS}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, subs))) if subs else None


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        # ECC200 text defaults to Latin-1 (ISO 8859-1), which decodes any byte.
        return bytes(data).decode("latin-1")


def decode_scanned(
    data: str | bytes, substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES
) -> ScannedText:
    """Decode ``data`` (UTF-8, else Latin-1), drop AIM prefix and line end, restore GS."""
    text = _decode(data)
    start, end = 0, len(text)
    if text.startswith(_AIM_PREFIX) and len(text) >= 3 and text[2].isdigit():
        start = 3
    while end > start and text[end - 1] in _LINE_ENDS:
        end -= 1
    body = text[start:end]
    # A lone string is one substitute, not a set of characters (``"<GS>"``, not ``<``, ``G``…).
    subs = (substitutes,) if isinstance(substitutes, str) else tuple(substitutes)
    pattern = _substitute_pattern(subs)
    if pattern is None:
        return ScannedText(body, start)
    replaced, count = pattern.subn(GS, body)
    if not count:
        return ScannedText(body, start)
    spans = tuple((m.start() + start, m.end() + start) for m in pattern.finditer(body))
    return ScannedText(replaced, start, spans)
