"""``kiosk dmp status NIR``: TD0.2 against the configured DMP (the simulator by default).

Indirect mode, built by ``kiosk/wiring/``: the VIHF is signed with the establishment's
``ORG_SIGN`` key and, with ``dmp.kind = "http"``, TLS is mutual with ``ORG_AUTH_CLI``. Writes
(creation, authorization, documents) are not offered here: they go through the outbox
(``kiosk outbox``/``kiosk sync``) and the admission flow. Exit codes (ARCHITECTURE.md
§12): 0 answered, 1 invalid NIR, 3 DMP unavailable or refusing. The NIR is masked in
text output.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from kiosk import wiring
from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext, emit
from kiosk.config import Settings
from kiosk.dmp.transactions import ExistenceResponse
from kiosk.dmp.vocabulary import INS_TEST_OID
from kiosk.domain.ins import Ins
from kiosk.domain.nir import Nir
from kiosk.locale import msg

__all__ = ["dmp"]


async def _status(settings: Settings, patient: Ins, agent: str) -> ExistenceResponse:
    clock = SystemClock()
    facts = wiring.world_facts(settings)
    async with (
        wiring.establishment_signer(settings) as signer,
        wiring.build_dmp_http(settings, clock) as http,
    ):
        client = wiring.build_dmp_client(settings, http, signer, clock, facts=facts, agent=agent)
        return await client.existence(patient)


@click.group()
def dmp() -> None:
    """DMP (Dossier Médical Partagé) queries."""


@dmp.command("status")
@click.argument("nir")
@click.option("--oid", default=INS_TEST_OID, show_default=True, help="INS authority OID.")
@click.option("--agent", default="KIOSK", show_default=True, help="Local id of the agent.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: CliContext, nir: str, oid: str, agent: str, as_json: bool) -> None:
    """TD0.2: does the patient have a DMP, may this establishment access it, web account."""
    patient = Ins.of(nir, oid)
    answer = asyncio.run(_status(obj.settings, patient, agent))
    masked = Nir.parse(nir).masked()
    data: dict[str, Any] = {
        "nir": masked,
        "exists": answer.exists,
        "authorization": answer.authorization.value,
        "refusal_reason": answer.refusal_reason,
        "web_account_open": answer.web_account_open,
    }
    state = msg("commands.dmp.exists") if answer.exists else msg("commands.dmp.missing")
    text = msg("commands.dmp.status", nir=masked, state=state).text(obj.lang)
    text += msg("commands.dmp.authorization", value=answer.authorization.value).text(obj.lang)
    if answer.web_account_open is not None:
        account = "open" if answer.web_account_open else "closed"
        text += msg(f"commands.dmp.web_account_{account}").text(obj.lang)
    emit(as_json, data, text)
