"""PC/SC reader names: how pcsc-lite builds them, and which profile slot a name is.

pcsc-lite 1.9.9 (Debian bookworm) names a USB reader in ``src/hotplug_libudev.c``
and ``src/readerfactory.c``:

- the ``ifdFriendlyName`` of the driver's ``Info.plist`` for the USB pair;
- `` [<interface>]``: the USB interface string, when the device has one (non-ASCII
  bytes become ``.``; ``pcscd -I`` leaves it out);
- `` (<serial>)``: the USB serial number, when there is one and the interface string
  does not already hold it (``pcscd -S`` leaves it out);
- cut to ``MAX_READERNAME`` (128) less `` 00 00``;
- `` XX YY``: the reader index, the first number no other reader of the same driver
  uses (``00`` for the first reader plugged in, ``01`` for a second interface or a
  second reader), then the slot of that interface (``00``, ``01`` …).

A profile writes a slot's name for reader index ``00``; :func:`match_reader` accepts
any index and an optional serial, which change from one desk to the next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from kiosk.hardware.models import ReaderProfileModel, ReaderSlot, ReaderUsb

__all__ = [
    "MAX_READERNAME",
    "ReaderMatch",
    "match_reader",
    "pcsc_reader_name",
    "slot_pattern",
    "split_reader_name",
]

MAX_READERNAME = 128
"""pcsc-lite's buffer for a reader name, NUL included (``pcsclite.h``)."""

_SUFFIX = len(" 00 00") + 1  # sizeof(" 00 00") in readerfactory.c counts the NUL
_NAME = re.compile(r"^(?P<base>.+) (?P<index>[0-9A-F]{2}) (?P<slot>[0-9A-F]{2})$")


def _ascii(value: str) -> str:
    """What ``isascii`` leaves of a sysfs string: each non-ASCII byte becomes ``.``."""
    return "".join(chr(b) if b < 0x80 else "." for b in value.encode("utf-8"))


def pcsc_reader_name(
    friendly_name: str,
    *,
    interface: str | None = None,
    serial: str | None = None,
    index: int = 0,
    slot: int = 0,
) -> str:
    """The name pcscd 1.9.9 gives slot ``slot`` of reader ``index`` (both 0–255)."""
    name = friendly_name
    if interface is not None:
        name += f" [{_ascii(interface)}]"
    if serial is not None and (interface is None or serial not in interface):
        name += f" ({serial})"
    return f"{name[: MAX_READERNAME - _SUFFIX]} {index:02X} {slot:02X}"


def split_reader_name(name: str) -> tuple[str, int, int] | None:
    """``("Kiosk Desk", 0, 1)`` for ``"Kiosk Desk 00 01"``; None for a name of another form."""
    found = _NAME.match(name)
    if found is None:
        return None
    return found["base"], int(found["index"], 16), int(found["slot"], 16)


@cache
def slot_pattern(pcsc_name: str) -> re.Pattern[str]:
    """The names pcscd may give the slot a profile writes as ``pcsc_name``."""
    base, slot = pcsc_name[: -len(" 00 00")], pcsc_name[-2:]
    literal = ".*".join(re.escape(part) for part in base.split("*"))
    serial = "" if base.endswith(")") else r"(?: \([^)]*\))?"
    return re.compile(rf"^{literal}{serial} [0-9A-F]{{2}} {slot}$")


@dataclass(frozen=True)
class ReaderMatch:
    """The profile slot a PC/SC reader name is."""

    key: str
    profile: ReaderProfileModel
    usb: ReaderUsb
    slot: ReaderSlot


def match_reader(readers: Mapping[str, ReaderProfileModel], name: str) -> ReaderMatch | None:
    """The first profile slot (profiles by key) whose pattern matches ``name``."""
    for key, profile in readers.items():
        for usb in profile.usb:
            for slot in usb.slots:
                if slot_pattern(slot.pcsc_name).match(name):
                    return ReaderMatch(key, profile, usb, slot)
    return None
