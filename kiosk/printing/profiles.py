"""Printer profiles: paper width, cutter and USB ids, as data in ``hw/printers/*.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import ConfigError
from kiosk.locale import msg

__all__ = ["PrinterProfile", "UsbId", "load_profile", "profile_names"]

_REPO_HW = Path(__file__).resolve().parents[2] / "hw" / "printers"
_WIDTHS = (384, 576)


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
    """Read and check ``<directory>/<name>.toml``; problems are ``ConfigError``."""
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
    try:
        usb = tuple(
            UsbId(int(u["vendor_id"]), int(u["product_id"]), str(u.get("label", "")))
            for u in data.get("usb", [])
        )
        profile = PrinterProfile(
            name=str(data["name"]),
            width_dots=int(data["width_dots"]),
            width_mm=int(data.get("width_mm", 80)),
            dpi=int(data.get("dpi", 203)),
            cutter=bool(data.get("cutter", True)),
            feed_lines=int(data.get("feed_lines", 4)),
            status_queries=bool(data.get("status_queries", True)),
            label_height_dots=int(data.get("label_height_dots", 0)),
            usb=usb,
            key=name,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            msg("printing.profiles.load_profile_4", path=path, exc=exc),
        ) from exc
    if profile.width_dots not in _WIDTHS:
        raise ConfigError(
            msg("printing.profiles.load_profile", path=path, width_dots=profile.width_dots),
        )
    return profile
