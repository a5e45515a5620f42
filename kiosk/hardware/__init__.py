"""Hardware profiles of ``hw/``: the schema, the loaders, PC/SC names, the udev rules."""

from kiosk.hardware.loading import HW_ROOT, Profiles, check_profile, load_kind, load_profiles
from kiosk.hardware.models import (
    KINDS,
    CardProfileModel,
    Kind,
    PrinterProfileModel,
    ReaderProfileModel,
    ReaderSlot,
    ReaderUsb,
    ScannerProfileModel,
    UsbEntry,
)
from kiosk.hardware.naming import ReaderMatch, match_reader, pcsc_reader_name, split_reader_name

__all__ = [
    "HW_ROOT",
    "KINDS",
    "CardProfileModel",
    "Kind",
    "PrinterProfileModel",
    "Profiles",
    "ReaderMatch",
    "ReaderProfileModel",
    "ReaderSlot",
    "ReaderUsb",
    "ScannerProfileModel",
    "UsbEntry",
    "check_profile",
    "load_kind",
    "load_profiles",
    "match_reader",
    "pcsc_reader_name",
    "split_reader_name",
]
