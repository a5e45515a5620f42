"""Printer profiles: paper width, cutter and USB ids, as data in ``hw/printers/*.toml``.

The file is checked against the schema of ``hw/`` (:mod:`kiosk.hardware`), every
problem at once; this module keeps the small dataclass the layout and backends use.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import ConfigError
from kiosk.hardware.loading import HW_ROOT, check_profile, shown
from kiosk.hardware.models import PrinterProfileModel
from kiosk.locale import msg

__all__ = ["PrinterProfile", "UsbId", "load_profile", "profile_names"]

_REPO_HW = HW_ROOT / "printers"


@dataclass(frozen=True)
class UsbId:
    """One USB vendor/product pair known to be this kind of printer."""

    vendor_id: int
    product_id: int
    label: str = ""


@dataclass(frozen=True)
class PrinterProfile:
    """What the layout and the backends need to know about a printer model."""

    name: str
    width_dots: int
    width_mm: int = 80
    dpi: int = 203
    cutter: bool = True
    feed_lines: int = 4
    status_queries: bool = True
    label_height_dots: int = 0
    usb: tuple[UsbId, ...] = ()
    key: str = ""


def _directory(directory: Path | None) -> Path:
    if directory is not None and directory.is_dir():
        return directory
    return _REPO_HW


def profile_names(directory: Path | None = None) -> list[str]:
    """The profile names available (file names without ``.toml``)."""
    return sorted(p.stem for p in _directory(directory).glob("*.toml"))


def load_profile(name: str, directory: Path | None = None) -> PrinterProfile:
    """Read and check ``<directory>/<name>.toml``; problems are one ``ConfigError``."""
    path = _directory(directory) / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(profile_names(directory)) or "-"
        raise ConfigError(
            msg("printing.profiles.load_profile_2", name=name, known=known),
        ) from exc
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            msg("printing.profiles.load_profile_3", path=path, exc=exc),
        ) from exc
    model = check_profile("printers", data, shown(path))
    assert isinstance(model, PrinterProfileModel)
    return PrinterProfile(
        name=model.name,
        width_dots=model.width_dots,
        width_mm=model.width_mm,
        dpi=model.dpi,
        cutter=model.cutter,
        feed_lines=model.feed_lines,
        status_queries=model.status_queries,
        label_height_dots=model.label_height_dots,
        usb=tuple(UsbId(u.vendor_id, u.product_id, u.label) for u in model.usb),
        key=name,
    )
