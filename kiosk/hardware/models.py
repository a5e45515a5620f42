"""The schema of ``hw/``: one pydantic model per kind of profile (hw/README.md).

A profile is a TOML file; its model forbids unknown keys, so a typo is an error and
never a silent default. Every ``[[usb]]`` entry names where its ids come from
(``source``): hw/README.md says which sources count. The same models give the JSON
Schema in ``hw/schema/`` (:mod:`kiosk.hardware.schema`) for tools outside Python.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

__all__ = [
    "KINDS",
    "CardProfileModel",
    "Kind",
    "PrinterProfileModel",
    "ReaderProfileModel",
    "ReaderSlot",
    "ReaderUsb",
    "ScannerProfileModel",
    "UsbEntry",
]

Kind = Literal["readers", "printers", "scanners", "cards"]
"""A folder of ``hw/``; each holds one kind of profile."""

KINDS: tuple[Kind, ...] = ("readers", "printers", "scanners", "cards")

UsbNumber = Annotated[StrictInt, Field(ge=0, le=0xFFFF)]
"""A USB vendor or product id; written in hexadecimal in TOML (``0x08E6``)."""

Text = Annotated[str, Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")]
"""One line of text, not blank (it is written into comments of the generated rules)."""

Line = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]

# "<friendly name>[ [<interface>]| *][ (<serial>)] 00 <slot>": what pcsc-lite 1.9.9 builds
# (src/hotplug_libudev.c, src/readerfactory.c), the reader index written 00.
_SLOT_TAIL = re.compile(r"^(?: \[[^\]]*\]|\*)?(?: \([^)]*\))? 00 [0-9A-F]{2}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class UsbEntry(_Model):
    """One USB vendor/product pair known to be this model, and where that is written."""

    vendor_id: UsbNumber
    product_id: UsbNumber
    label: Line = ""
    """Which model or mode answers with this pair (``Epson TM-T20III (printer class)``)."""
    source: Text
    """Where the pair is documented: a driver's device list, ``usb.ids``, a vendor manual."""


class ReaderSlot(_Model):
    """One PC/SC reader name pcscd gives a slot of this model."""

    pcsc_name: Text
    """The name of the slot on the first reader of the bus, as pcsc-lite builds it:
    ``<friendly_name> [<USB interface string>] 00 <slot>``. ``*`` stands for text that
    differs between units (a serial number in the interface string); ``*`` in place of the
    whole `` […]`` part means the interface string is not documented (any, or none)."""
    kind: Literal["contact", "contactless", "sam"] | None = None
    """What the slot takes; unset when the descriptor does not say."""


class ReaderUsb(UsbEntry):
    """A reader's USB pair: the CCID driver's name for it and the slots pcscd makes."""

    friendly_name: Text
    """``ifdFriendlyName`` of the pair in the CCID driver's ``Info.plist``."""
    slots: tuple[ReaderSlot, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _slot_names(self) -> ReaderUsb:
        for slot in self.slots:
            name = slot.pcsc_name
            if not name.startswith(self.friendly_name) or not _SLOT_TAIL.match(
                name[len(self.friendly_name) :]
            ):
                raise ValueError(
                    f"slot {name!r} is not '{self.friendly_name}[ [interface]] 00 <slot>'"
                )
        names = [s.pcsc_name for s in self.slots]
        if len(set(names)) != len(names):
            raise ValueError("two slots have the same pcsc_name")
        return self


class ReaderProfileModel(_Model):
    """A PC/SC smart-card reader model (``hw/readers/*.toml``)."""

    name: Text
    """The model as sold (``Gemalto Prox-DU``)."""
    pin_pad: StrictBool
    """Whether the reader has a PIN pad (CCID ``bPINSupport`` other than 0)."""
    contactless: StrictBool | None = None
    """Whether it reads contactless cards; unset when no source says."""
    notes: str = ""
    usb: tuple[ReaderUsb, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _contactless_slot(self) -> ReaderProfileModel:
        has = any(s.kind == "contactless" for u in self.usb for s in u.slots)
        if has and self.contactless is not True:
            raise ValueError("a slot is contactless: set contactless = true")
        _unique_pairs(self.usb)
        return self


class PrinterProfileModel(_Model):
    """A receipt or label printer model (``hw/printers/*.toml``)."""

    name: Text
    width_dots: Literal[384, 576]
    """Printable width: 384 dots (58 mm paper) or 576 (80 mm), at ``dpi``."""
    width_mm: Annotated[StrictInt, Field(gt=0)] = 80
    """Paper width."""
    dpi: Annotated[StrictInt, Field(gt=0)] = 203
    cutter: StrictBool = True
    feed_lines: Annotated[StrictInt, Field(ge=0)] = 4
    """Lines fed before the cut (or the tear-off)."""
    status_queries: StrictBool = True
    """Whether the printer answers ESC/POS real-time status requests (DLE EOT)."""
    label_height_dots: Annotated[StrictInt, Field(ge=0)] = 0
    """Die-cut label height; 0 for continuous receipt paper."""
    usb: tuple[UsbEntry, ...] = ()

    @model_validator(mode="after")
    def _pairs(self) -> PrinterProfileModel:
        _unique_pairs(self.usb)
        return self


class ScannerProfileModel(_Model):
    """A 2D barcode scanner mode (``hw/scanners/*.toml``): keyboard wedge or serial."""

    name: Text
    kind: Literal["hid", "serial"]
    """``hid``: a USB keyboard (evdev, grabbed); ``serial``: USB-CDC or RS-232."""
    device: Text
    """The stable device path the udev rules give it."""
    suffix: Literal["enter", "tab", "cr", "lf", "crlf", "none"]
    """What ends one code: a key for ``hid``, bytes for ``serial``."""
    keymap: Literal["azerty", "qwerty"] | None = None
    """Keyboard layout the scanner types in (``hid`` only)."""
    baudrate: Annotated[StrictInt, Field(gt=0)] | None = None
    """Line speed (``serial`` only; USB-CDC ignores it)."""
    gs_substitutes: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    """What this model sends for GS (0x1D) when it cannot send GS itself, beyond the
    site's ``[scanner] gs_substitutes``; empty when it sends GS or nothing is documented."""
    usb: tuple[UsbEntry, ...] = ()

    @model_validator(mode="after")
    def _mode_keys(self) -> ScannerProfileModel:
        if self.kind == "hid" and self.baudrate is not None:
            raise ValueError("baudrate is for kind = 'serial' only")
        if self.kind == "serial" and self.keymap is not None:
            raise ValueError("keymap is for kind = 'hid' only")
        _unique_pairs(self.usb)
        return self


class CardProfileModel(_Model):
    """A card family recognised by its ATR (``hw/cards/*.toml``, DOMAIN.md §5)."""

    kind: Literal["vitale", "cps"]
    patterns: tuple[
        Annotated[str, Field(pattern=r"^\s*(?:[0-9A-Fa-fxX]\s*[0-9A-Fa-fxX]\s*)+$")], ...
    ] = Field(min_length=1)
    """ATR patterns: hexadecimal bytes, ``x`` a wildcard nibble, spaces optional."""
    name: Text | None = None
    """Defaults to the file name."""
    label: Text | None = None
    """Shown to agents; defaults to the file name."""
    simulation: StrictBool = False
    """The pattern is ours (a virtual card), not the manufacturer's: verify on site."""


def _unique_pairs(entries: tuple[UsbEntry, ...]) -> None:
    pairs = [(u.vendor_id, u.product_id) for u in entries]
    for pair in {p for p in pairs if pairs.count(p) > 1}:
        raise ValueError(f"USB id {pair[0]:04x}:{pair[1]:04x} is listed twice")
