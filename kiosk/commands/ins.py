"""``kiosk ins encode|decode``: the INS Data Matrix (DOMAIN.md §3) to and from images.

A Data Matrix may only be made for a *qualified* identity (RNIV): ``encode`` demands
``--qualified`` as the operator's confirmation, and the site's environment decides
which OIDs are accepted (a test configuration only the test OID). A scanned code is
data to verify, not proof: ``decode`` prints what it says, NIR masked unless ``--show``.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.domain.datamatrix import InsDataMatrix, build_payload, parse_payload
from kiosk.domain.ins import (
    Identity,
    IdentityStatus,
    Ins,
    InsEnvironment,
    Sex,
    StrictTraits,
    check_oid_allowed,
)
from kiosk.errors import IdentityError, InvalidInput, KioskError, NotFound
from kiosk.locale import msg, text

__all__ = ["ins"]


@click.group()
def ins() -> None:
    """INS Data Matrix tools."""


def _birth_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise InvalidInput(
        msg("commands.ins.birth_date", value=value),
    )


@ins.command("encode")
@click.option("--nir", "matricule", required=True, help="Matricule INS (15 characters).")
@click.option("--oid", required=True, help="OID of the INS authority.")
@click.option("--given", required=True, help="Birth given names, space-separated.")
@click.option("--family", required=True, help="Birth family name.")
@click.option("--sex", type=click.Choice(["F", "M"], case_sensitive=False), required=True)
@click.option("--birth-date", required=True, help="YYYY-MM-DD or DD-MM-YYYY.")
@click.option("--birth-place", required=True, help="INSEE code (99xxx abroad).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option(
    "--qualified",
    is_flag=True,
    help="Confirm the identity is qualified (INSi + high-trust document checked).",
)
@click.option("--module-px", type=click.IntRange(1, 40), default=6, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def encode(
    obj: CliContext,
    matricule: str,
    oid: str,
    given: str,
    family: str,
    sex: str,
    birth_date: str,
    birth_place: str,
    output: Path,
    qualified: bool,
    module_px: int,
    as_json: bool,
) -> None:
    """Write the INS Data Matrix of a qualified identity to a PNG file."""
    check_oid_allowed(oid, InsEnvironment(obj.settings.site.environment))
    identity = Identity(
        ins=Ins.of(matricule, oid),
        traits=StrictTraits.create(
            birth_family_name=family,
            birth_given_names=tuple(given.split()),
            birth_date=_birth_date(birth_date),
            sex=Sex(sex.upper()),
            birth_place=birth_place,
        ),
        status=IdentityStatus.QUAL if qualified else IdentityStatus.PROV,
    )
    if not qualified:
        raise IdentityError(
            msg("commands.ins.encode"),
        )
    payload = build_payload(identity.ins_for_transmission(), identity.traits)

    from kiosk.printing.symbols import datamatrix_image

    image = datamatrix_image(payload.encode("latin-1"), module_px=module_px)
    try:
        image.save(output, format="PNG")
    except OSError as exc:
        raise InvalidInput(
            msg("commands.ins.encode_2", output=output, strerror=exc.strerror),
        ) from exc
    emit(
        as_json,
        {"output": str(output), "width": image.width, "height": image.height},
        text(
            "commands.ins.written", obj.lang, output=output, width=image.width, height=image.height
        ),
    )


@ins.command("decode")
@click.argument("source", type=click.Path(allow_dash=True, path_type=Path))
@click.option("--raw", is_flag=True, help="SOURCE holds the payload text, not an image.")
@click.option("--show", is_flag=True, help="Print the whole NIR instead of the masked form.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def decode(obj: CliContext, source: Path, raw: bool, show: bool, as_json: bool) -> None:
    """Read an INS Data Matrix from an image (or a raw payload with --raw); '-' is stdin."""
    data = _read_source(source)
    if raw:
        payloads = [data.rstrip(b"\r\n")]
    else:
        from kiosk.scanning.images import decode as decode_image

        payloads = [symbol.data for symbol in decode_image(data)]
    found = _first_ins(payloads)
    check_oid_allowed(found.ins.oid, InsEnvironment(obj.settings.site.environment))
    record = _describe(found, show)
    text = "\n".join(f"{key:>13}: {value}" for key, value in record.items())
    emit(as_json, record, text)


def _read_source(source: Path) -> bytes:
    if str(source) == "-":
        return sys.stdin.buffer.read()
    try:
        return source.read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(msg("commands.ins.read_source", source=source)) from exc
    except OSError as exc:
        raise InvalidInput(
            msg("commands.ins.read_source_2", source=source, strerror=exc.strerror),
        ) from exc


def _first_ins(payloads: list[bytes]) -> InsDataMatrix:
    """The first payload that is an INS Data Matrix; else the first payload's precise error."""
    first_error: KioskError | None = None
    for payload in payloads:
        try:
            return parse_payload(payload)
        except KioskError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    raise NotFound(msg("commands.ins.first_ins"))


def _describe(found: InsDataMatrix, show: bool) -> dict[str, Any]:
    traits = found.traits
    nir_text = found.ins.matricule.value if show else found.ins.matricule.masked()
    return {
        "ins": nir_text,
        "oid": found.ins.oid,
        "family_name": traits.birth_family_name,
        "given_names": traits.given_names_joined,
        "sex": traits.sex.value,
        "birth_date": traits.birth_date.isoformat(),
        "birth_place": traits.birth_place,
    }
