"""``kiosk nir check NIR``: structure, key and kind of a NIR, masked unless asked."""

from __future__ import annotations

import click

from kiosk.commands.context import emit
from kiosk.domain.nir import Nir, NirError

__all__ = ["nir"]


@click.group()
def nir() -> None:
    """NIR (numéro d'inscription au répertoire) tools."""


@nir.command("check")
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--show", is_flag=True, help="Print the whole NIR instead of the masked form.")
def check(value: str, as_json: bool, show: bool) -> None:
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
    text = f"valide / valid: {shown} ({parsed.kind.value}, clé/key {parsed.key:02d})"
    emit(as_json, data, text)
