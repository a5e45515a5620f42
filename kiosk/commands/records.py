"""``kiosk records show NIR``: the local identity record of one patient, as the kiosk keeps it.

The file is ``<paths.data_dir>/identity.sqlite3`` unless ``--db`` names another; the
configured environment (``site.environment``) decides which OIDs may be read. The NIR
is masked and the IPP hidden unless ``--show`` is given; traits are never printed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import NotFound
from kiosk.locale import msg
from kiosk.wiring.records import RECORDS_FILE, open_records, records_path

__all__ = ["RECORDS_FILE", "records"]


@click.group()
def records() -> None:
    """Read the local identity records (INS, RNIV status, sources, IPP, DMP facts)."""


@records.command()
@click.argument("nir")
@click.option("--oid", default="1.2.250.1.213.1.4.10", help="INS authority (default: test OID).")
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Records file (default: <data_dir>/{RECORDS_FILE}).",
)
@click.option("--show", "reveal", is_flag=True, help="Show the full NIR and the IPP.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def show(obj: CliContext, nir: str, oid: str, db: Path | None, reveal: bool, as_json: bool) -> None:
    """Show the record of patient NIR: current status, observations, DMP facts."""
    from kiosk.domain.ins import Ins
    from kiosk.records import StoredRecord

    settings = obj.settings
    path = records_path(settings, db)
    patient = Ins.of(nir.replace(" ", ""), oid)  # a bad key is invalid input (exit 1)
    shown = patient.matricule.value if reveal else patient.matricule.masked()
    if not path.is_file():  # reading must not create an empty records file
        raise NotFound(msg("commands.records.show", path=path))

    async def read() -> StoredRecord | None:
        async with open_records(settings, path) as store:
            return await store.get(patient)

    stored = asyncio.run(read())
    if stored is None:
        raise NotFound(msg("commands.records.show_2", shown=shown))
    current = stored.current
    ipp = current.ipp if reveal else ("set" if current.ipp else None)
    data: dict[str, Any] = {
        "ins": shown,
        "oid": patient.oid,
        "status": current.identity.status.value,
        "sources": sorted(s.value for s in current.sources),
        "created_at": current.created_at.isoformat(),
        "checked_at": current.checked_at.isoformat(),
        "ipp": ipp,
        "dmp": None
        if stored.dmp is None
        else {"exists": stored.dmp.exists, "authorized": stored.dmp.authorized},
        "observations": [
            {
                "at": o.at.isoformat(),
                "status": o.status.value,
                "sources": sorted(s.value for s in o.sources),
                "applied": o.applied,
                "reason": o.reason,
            }
            for o in stored.observations
        ],
    }
    lines = [
        f"INS {shown} ({patient.oid}): {current.identity.status.value} "
        f"— {current.identity.status.label_fr} / {current.identity.status.label_en}",
        f"sources: {', '.join(data['sources'])}",
        f"created {data['created_at']}, checked {data['checked_at']}, IPP {ipp or '-'}",
        "DMP: "
        + (
            "unknown"
            if stored.dmp is None
            else f"exists={stored.dmp.exists} authorized={stored.dmp.authorized}"
        ),
    ]
    for o in data["observations"]:
        kept = "" if o["applied"] else " (lower: not applied)"
        if o["reason"]:
            kept = f" (downgraded: {o['reason']})"
        lines.append(f"observed {o['at']} {o['status']} [{', '.join(o['sources'])}]{kept}")
    emit(as_json, data, "\n".join(lines))
