"""``kiosk hw list|udev|schema``: the hardware profiles of ``hw/`` and what is made of them.

``udev`` writes ``hw/udev/*.rules`` from the profiles and ``schema`` the JSON Schema
of ``hw/schema/``; with ``--check`` either only compares and exits 1 when the
committed files are not what it would write (hw/README.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import InvalidInput
from kiosk.locale import msg, text

__all__ = ["hw"]

_ROOT = click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="The hw/ folder to read (default: the installation's).",
)


@click.group()
def hw() -> None:
    """Hardware profiles (readers, printers, scanners, cards) and the udev rules."""


def _usb(entries: Any) -> str:
    return ",".join(f"{u.vendor_id:04x}:{u.product_id:04x}" for u in entries) or "-"


@hw.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_ROOT
@click.pass_obj
def list_(obj: CliContext, as_json: bool, root: Path | None) -> None:
    """Every profile, one line each."""
    from kiosk.hardware import load_profiles

    profiles = load_profiles(root)
    lang = obj.lang
    lines: list[str] = []
    for key, reader in profiles.readers.items():
        slots = sorted({len(u.slots) for u in reader.usb})
        lines.append(
            text(
                "commands.hw.reader",
                lang,
                key=key,
                name=reader.name,
                usb=_usb(reader.usb),
                slots="/".join(map(str, slots)),
                pin_pad=text("commands.hw.pin_pad", lang) if reader.pin_pad else "",
                contactless=text("commands.hw.contactless", lang) if reader.contactless else "",
            )
        )
    for key, printer in profiles.printers.items():
        lines.append(
            text(
                "commands.hw.printer",
                lang,
                key=key,
                name=printer.name,
                usb=_usb(printer.usb),
                width_mm=printer.width_mm,
                width_dots=printer.width_dots,
                cutter=text("commands.hw.cutter", lang) if printer.cutter else "",
            )
        )
    for key, scanner in profiles.scanners.items():
        lines.append(
            text(
                "commands.hw.scanner",
                lang,
                key=key,
                name=scanner.name,
                usb=_usb(scanner.usb),
                mode=scanner.kind,
            )
        )
    for key, card in profiles.cards.items():
        lines.append(
            text(
                "commands.hw.card",
                lang,
                key=key,
                label=card.label or key,
                kind=card.kind,
                patterns=len(card.patterns),
                simulation=text("commands.hw.simulation", lang) if card.simulation else "",
            )
        )
    data = {
        kind: {key: model.model_dump(mode="json") for key, model in getattr(profiles, kind).items()}
        for kind in ("readers", "printers", "scanners", "cards")
    }
    emit(as_json, data, "\n".join(lines))


def _write_or_check(
    obj: CliContext, what: str, files: dict[str, str], out: Path, check: bool
) -> None:
    """Write ``files`` into ``out``; with ``check``, only say which ones differ (exit 1)."""
    if check:
        stale = [
            name
            for name, content in files.items()
            if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != content
        ]
        if stale:
            raise InvalidInput(
                msg("commands.hw.stale", what=what, files=", ".join(str(out / n) for n in stale)),
            )
        for name in files:
            click.echo(text("commands.hw.up_to_date", obj.lang, path=out / name))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_text(content, encoding="utf-8")
        click.echo(text("commands.hw.written", obj.lang, path=out / name))


_CHECK = click.option(
    "--check", is_flag=True, help="Only compare with the files in --out; exit 1 if they differ."
)


@hw.command("udev")
@_CHECK
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the rules go (default: hw/udev).",
)
@_ROOT
@click.pass_obj
def udev(obj: CliContext, check: bool, out: Path | None, root: Path | None) -> None:
    """Write the udev rules of the profiles: group kiosk, stable device names."""
    from kiosk.hardware import HW_ROOT, load_profiles
    from kiosk.hardware.udev import render_rules

    files = render_rules(load_profiles(root))
    _write_or_check(obj, "udev", files, out or (root or HW_ROOT) / "udev", check)


@hw.command("schema")
@_CHECK
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the JSON Schema files go (default: hw/schema).",
)
@click.pass_obj
def schema(obj: CliContext, check: bool, out: Path | None) -> None:
    """Write the JSON Schema of each kind of profile."""
    from kiosk.hardware import HW_ROOT
    from kiosk.hardware.schema import render_schemas

    _write_or_check(obj, "schema", render_schemas(), out or HW_ROOT / "schema", check)
