"""HTTP byte ranges as the simulated server reads them (RFC 7233 §2.1, §4.4).

hawkBit's artifact download "supports partial download as specified by RFC7233 (range
requests)". One ``bytes=`` range is served as a 206; a syntactically valid set none of
which overlaps the file is 416; anything the server does not understand (another unit,
several ranges, garbage) is ignored and the whole file sent, as §3.1 allows.
"""

from __future__ import annotations

import re

__all__ = ["UNSATISFIABLE", "parse_range"]

UNSATISFIABLE = (-1, -1)
"""The answer for a range that lies wholly past the end of the file: 416."""

_SPEC = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive to serve; None for the whole file; UNSATISFIABLE for 416."""
    if not header:
        return None
    found = _SPEC.match(header)
    if found is None:
        return None
    first_s, last_s = found.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # a suffix: the last N bytes
        count = int(last_s)
        if count == 0:
            return UNSATISFIABLE
        return (max(0, size - count), size - 1) if size else UNSATISFIABLE
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None  # invalid: ignored, whole file
    if first >= size:
        return UNSATISFIABLE
    return first, min(last, size - 1)
