"""``kiosk nir check NIR``: structure, key and kind of a NIR, masked unless asked."""

from __future__ import annotations

import click

from kiosk.commands.context import CliContext, emit
from kiosk.domain.nir import Nir, NirError
from kiosk.locale import text

__all__ = ["nir"]


@click.group()
def nir() -> None:
    """NIR (numéro d'inscription au répertoire) tools."""


@nir.command("check")
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--show", is_flag=True, help="Print the whole NIR instead of the masked form.")
@click.pass_obj
def check(obj: CliContext, value: str, as_json: bool, show: bool) -> None:
    """Check a NIR's structure and key (exit 0 valid, 1 invalid)."""
    try:
        parsed = Nir.parse(value)
    except NirError as exc:
        if as_json:
            emit(True, {"valid": False, "code": exc.code, "reason": exc.message_en}, "")
            raise SystemExit(1) from exc
        raise
    shown = parsed.value if show else parsed.masked()
    data = {
        "valid": True,
        "nir": shown,
        "kind": parsed.kind.value,
        "key": f"{parsed.key:02d}",
        "born_abroad": parsed.born_abroad,
    }
    line = text(
        "commands.nir.valid", obj.lang, nir=shown, kind=parsed.kind.value, key=f"{parsed.key:02d}"
    )
    emit(as_json, data, line)
