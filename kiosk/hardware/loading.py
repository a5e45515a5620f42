"""Read ``hw/<kind>/*.toml`` into validated models; every problem of every file at once.

Each problem names the file and the key (``hw/readers/x.toml: usb[0].source: required
key is missing``), as the site configuration's do (ARCHITECTURE.md §11), and all of
them come in one :class:`ConfigError`: fixing one typo should not reveal the next.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from kiosk.errors import ConfigError
from kiosk.hardware.models import (
    KINDS,
    CardProfileModel,
    Kind,
    PrinterProfileModel,
    ReaderProfileModel,
    ScannerProfileModel,
)
from kiosk.locale import msg

__all__ = [
    "HW_ROOT",
    "MODELS",
    "Profiles",
    "check_profile",
    "load_kind",
    "load_profiles",
    "shown",
]

HW_ROOT = Path(__file__).resolve().parents[2] / "hw"
"""``hw/`` of the source tree (the installation keeps the same layout)."""

MODELS: Mapping[Kind, type[BaseModel]] = {
    "readers": ReaderProfileModel,
    "printers": PrinterProfileModel,
    "scanners": ScannerProfileModel,
    "cards": CardProfileModel,
}

M = TypeVar("M", bound=BaseModel)

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""A profile's file name: it becomes a udev value and a configuration value."""


@dataclass(frozen=True)
class Profiles:
    """Every profile of ``hw/``, by kind, each keyed by its file name without ``.toml``."""

    readers: Mapping[str, ReaderProfileModel] = field(default_factory=dict)
    printers: Mapping[str, PrinterProfileModel] = field(default_factory=dict)
    scanners: Mapping[str, ScannerProfileModel] = field(default_factory=dict)
    cards: Mapping[str, CardProfileModel] = field(default_factory=dict)


def shown(path: Path) -> str:
    """``hw/readers/x.toml`` for a shipped file, the path as given otherwise."""
    try:
        return str(path.resolve().relative_to(HW_ROOT.parent))
    except ValueError:
        return str(path)


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _problems(source: str, exc: ValidationError) -> list[str]:
    errors = exc.errors()
    deeper = {tuple(e["loc"][:n]) for e in errors for n in range(len(e["loc"]))}
    found = []
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in deeper:
            continue  # a list whose items failed also reads as too short: say it once
        loc = _loc(tuple(error["loc"]))
        kind = error["type"]
        if kind == "extra_forbidden":
            what = "unknown key"
        elif kind == "missing":
            what = "required key is missing"
        else:
            what = str(error["msg"]).removeprefix("Value error, ")
            if not isinstance(error.get("input"), dict | list | tuple):
                what += f" (got {error.get('input')!r})"
        found.append(f"{source}: {loc}: {what}")
    return found


def _raise(problems: list[str]) -> None:
    if problems:
        raise ConfigError(
            msg("hardware.profiles.invalid", count=len(problems), listing="; ".join(problems)),
            detail=f"problems={len(problems)}",
        )


def _validate(model: type[M], data: Mapping[str, Any], source: str) -> tuple[M | None, list[str]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _problems(source, exc)


def check_profile(kind: Kind, data: Mapping[str, Any], source: str) -> BaseModel:
    """Validate one parsed profile of ``kind``; its problems are one ConfigError."""
    model, problems = _validate(MODELS[kind], data, source)
    _raise(problems)
    assert model is not None
    return model


def _read(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, [f"{shown(path)}: unreadable ({exc})"]


def _load(kind: Kind, directory: Path) -> tuple[dict[str, BaseModel], list[str]]:
    loaded: dict[str, BaseModel] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        if not _KEY.match(path.stem):
            problems.append(f"{shown(path)}: file name: letters, digits, '.', '_', '-'")
            continue
        data, unreadable = _read(path)
        problems += unreadable
        if data is None:
            continue
        model, invalid = _validate(MODELS[kind], data, shown(path))
        problems += invalid
        if model is not None:
            loaded[path.stem] = model
    return loaded, problems


def load_kind(kind: Kind, directory: Path | None = None) -> dict[str, BaseModel]:
    """The profiles of one folder (default ``hw/<kind>``), by file name; none if it is absent."""
    loaded, problems = _load(kind, directory if directory is not None else HW_ROOT / kind)
    _raise(problems)
    return loaded


def _usb_conflicts(root: Path, by_kind: Mapping[Kind, Mapping[str, BaseModel]]) -> list[str]:
    """A USB pair may be in several profiles of one kind (one printer, two paper widths),
    never in two kinds: udev would give one device two roles."""
    owner: dict[tuple[int, int], tuple[Kind, str]] = {}
    problems = []
    for kind in KINDS:
        for key, model in by_kind[kind].items():
            for i, usb in enumerate(getattr(model, "usb", ())):
                pair = (usb.vendor_id, usb.product_id)
                first = owner.setdefault(pair, (kind, key))
                if first[0] != kind:
                    problems.append(
                        f"{shown(root / kind / f'{key}.toml')}: usb[{i}]: USB id "
                        f"{pair[0]:04x}:{pair[1]:04x} is already {first[0]} profile {first[1]!r}"
                    )
    return problems


def load_profiles(root: Path | None = None) -> Profiles:
    """Every profile under ``root`` (default ``hw/``); all problems of all files at once."""
    root = root if root is not None else HW_ROOT
    by_kind: dict[Kind, dict[str, BaseModel]] = {}
    problems: list[str] = []
    for kind in KINDS:
        by_kind[kind], found = _load(kind, root / kind)
        problems += found
    problems += _usb_conflicts(root, by_kind)
    _raise(problems)
    return Profiles(
        readers=cast(dict[str, ReaderProfileModel], by_kind["readers"]),
        printers=cast(dict[str, PrinterProfileModel], by_kind["printers"]),
        scanners=cast(dict[str, ScannerProfileModel], by_kind["scanners"]),
        cards=cast(dict[str, CardProfileModel], by_kind["cards"]),
    )
