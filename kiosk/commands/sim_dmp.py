"""``kiosk sim dmp show INS``: what the running demo's simulated DMP holds for one patient.

Reads the simulator's inspection door (``GET <dmp_url>/_sim/dmp/<matricule>``, see
:meth:`kiosk.sim.dmp.service.DmpSimulator.show`) at the URL the running world
published (``dmp_url`` in its state file), or at ``--url``. The NIR is shown masked
unless ``--show`` is given (a fictitious test patient's, but the habit matters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import NotFound, Unavailable
from kiosk.locale import msg
from kiosk.wiring.world import world_facts

__all__ = ["dmp"]


@click.group()
def dmp() -> None:
    """Inspect the simulated DMP of a running demo."""


def _dmp_url(obj: CliContext, state_dir: Path | None) -> str:
    url = world_facts(obj.settings, state_dir).get("dmp_url")
    if not isinstance(url, str) or not url:
        raise NotFound(
            msg("commands.sim_dmp.dmp_url"),
        )
    return url


def _fetch(url: str) -> dict[str, Any]:
    import httpx

    try:
        reply = httpx.get(url, timeout=10.0)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable(
            msg("commands.sim_dmp.fetch"),
            detail=f"{type(exc).__name__}: {exc}"[:200],
        ) from exc
    return data


def _render(ins: str, state: dict[str, Any]) -> str:
    consent = state.get("consent") or {}
    lines = [
        f"DMP {ins}: {state.get('status')} (créé / created {state.get('created_at')})",
        "consent: " + ", ".join(f"{k}={'oui' if v else 'non'}" for k, v in consent.items()),
        f"web account: {'open' if state.get('web_account') else 'not open'}",
        "authorizations: "
        + (", ".join(f"{k} {v}" for k, v in state.get("authorizations", {}).items()) or "-"),
    ]
    for doc in state.get("documents", []):
        hidden = ",".join(c for c in doc["confidentiality"] if c != "N") or "visible"
        lines.append(f"document {doc['unique_id']} {doc['type_code']} {doc['status']} {hidden}")
    for trace in state.get("traces", []):
        why = f" « {trace['justification']} »" if trace.get("justification") else ""
        lines.append(
            f"trace {trace['at']} {trace['transaction']} {trace['actor']} {trace['mode']}"
            f" {trace['purpose']}{why} → {trace['outcome']}"
        )
    return "\n".join(lines)


@dmp.command()
@click.argument("ins")
@click.option("--oid", default="1.2.250.1.213.1.4.10", help="INS authority (default: test OID).")
@click.option("--show", "reveal", is_flag=True, help="Show the full NIR instead of a masked one.")
@click.option("--url", default=None, help="The DMP simulator's URL (default: the running demo's).")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="State directory of the running demo (default: <data_dir>/sim).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def show(
    obj: CliContext,
    ins: str,
    oid: str,
    reveal: bool,
    url: str | None,
    state_dir: Path | None,
    as_json: bool,
) -> None:
    """Show the simulated DMP of patient INS (a NIR): consent, documents, access traces."""
    from kiosk.domain.ins import Ins

    patient = Ins.of(ins.replace(" ", ""), oid)  # a bad key is invalid input (exit 1)
    base = (url or _dmp_url(obj, state_dir)).rstrip("/")
    state = _fetch(f"{base}/_sim/dmp/{patient.matricule.value}")
    shown = patient.matricule.value if reveal else patient.matricule.masked()
    if not state.get("exists"):
        raise NotFound(msg("commands.sim_dmp.show", shown=shown), detail="no DMP")
    emit(as_json, {"ins": shown, "oid": patient.oid, **state}, _render(shown, state))
