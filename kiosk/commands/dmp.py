"""``kiosk dmp``: TD0.2 status, and the documents of a patient whose identity is qualified here.

Indirect mode, built by ``kiosk/wiring/``: the VIHF is signed with the establishment's
``ORG_SIGN`` key for the agent ``--agent`` names and, with ``dmp.kind = "http"``, TLS is
mutual with ``ORG_AUTH_CLI``. Document writes (``submit``, ``visibility``, ``delete``,
``misfiled``) are queued in the outbox and sent at once when the DMP answers; the
habilitation table is asked first. ``documents`` lists what this establishment sent
(the establishment's certificate may not search the DMP). Creation and authorization
belong to the admission flow. Exit codes (ARCHITECTURE.md §12): 0 done or queued,
1 invalid input, 2 no such document, 3 DMP unavailable or refusing. The NIR is masked
in text output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
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
from kiosk.domain.visibility import POPULATIONS, Visibility
from kiosk.errors import NotFound, ServiceError
from kiosk.locale import msg
from kiosk.outbox.ports import Delivery
from kiosk.records.record import SentDocument
from kiosk.services.documents import DocumentDesk, QueuedWrite
from kiosk.wiring.documents import open_documents

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


def _written(obj: CliContext, as_json: bool, action: str, done: QueuedWrite) -> None:
    state = done.delivery.value
    data = {"action": action, "unique_id": done.unique_id, "delivery": state}
    if done.error:
        data["error"] = done.error
    text = msg("commands.dmp.written", action=action, unique_id=done.unique_id, state=state)
    emit(as_json, data, text.text(obj.lang))
    if done.delivery is Delivery.DEAD:
        raise ServiceError(msg("commands.dmp.dead", code=done.error or "?"), detail=done.error)


@dmp.command("submit")
@click.argument("pdf", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--nir", required=True, help="The patient's NIR (identity qualified here).")
@click.option("--oid", default=INS_TEST_OID, show_default=True, help="INS authority OID.")
@click.option("--type", "type_key", required=True, type=click.Choice(sorted(DocumentDesk.types())))
@click.option("--hide", multiple=True, type=click.Choice(POPULATIONS), help="Hidden from.")
@click.option("--title", default="", help="Title (default: the type's label).")
@click.option("--agent", default="KIOSK", show_default=True, help="Local id of the agent.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def submit(
    obj: CliContext,
    pdf: Path,
    nir: str,
    oid: str,
    type_key: str,
    hide: tuple[str, ...],
    title: str,
    agent: str,
    as_json: bool,
) -> None:
    """TD2.1: send PDF to the patient's DMP as a document of TYPE (queued, then sent)."""
    patient = Ins.of(nir, oid)

    async def run() -> QueuedWrite:
        async with open_documents(obj.settings, agent=agent) as documents:
            return await documents.submit_file(
                patient, pdf, type_key, visibility=Visibility.hiding(hide), title=title
            )

    _written(obj, as_json, "submit", asyncio.run(run()))


@dmp.command("documents")
@click.option("--nir", required=True, help="The patient's NIR.")
@click.option("--oid", default=INS_TEST_OID, show_default=True, help="INS authority OID.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def documents(obj: CliContext, nir: str, oid: str, as_json: bool) -> None:
    """The documents this establishment sent for the patient and has not taken back."""
    patient = Ins.of(nir, oid)

    async def run() -> tuple[SentDocument, ...]:
        async with open_documents(obj.settings, agent="KIOSK") as desk:
            return await desk.documents(patient)

    found = asyncio.run(run())
    rows = [
        {
            "unique_id": d.unique_id,
            "type_code": d.type_code,
            "title": d.title,
            "hidden_from": list(d.visibility.hidden_from()),
            "sent_at": d.sent_at.isoformat(),
        }
        for d in found
    ]
    lines = [
        f"{r['unique_id']}  {r['type_code']}  {r['title']}"
        + (f"  [{', '.join(r['hidden_from'])}]" if r["hidden_from"] else "")
        for r in rows
    ] or [msg("commands.dmp.no_documents").text(obj.lang)]
    emit(as_json, rows, "\n".join(lines))


def _change(
    obj: CliContext,
    nir: str,
    oid: str,
    unique_id: str,
    agent: str,
    apply: Callable[[DocumentDesk, Ins, SentDocument], Awaitable[QueuedWrite]],
) -> QueuedWrite:
    patient = Ins.of(nir, oid)

    async def run() -> QueuedWrite:
        async with open_documents(obj.settings, agent=agent) as desk:
            sent = {d.unique_id: d for d in await desk.documents(patient)}
            if unique_id not in sent:
                raise NotFound(msg("commands.dmp.no_such_document", unique_id=unique_id))
            return await apply(desk, patient, sent[unique_id])

    return asyncio.run(run())


_DOCUMENT = click.option("--document", "unique_id", required=True, help="Its uniqueId.")
_NIR = click.option("--nir", required=True, help="The patient's NIR.")
_OID = click.option("--oid", default=INS_TEST_OID, show_default=True, help="INS authority OID.")
_AGENT = click.option("--agent", default="KIOSK", show_default=True, help="Local id of the agent.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@dmp.command("visibility")
@_NIR
@_OID
@_DOCUMENT
@click.option("--hide", multiple=True, type=click.Choice(POPULATIONS), help="Hidden from.")
@_AGENT
@_JSON
@click.pass_obj
def visibility(
    obj: CliContext, nir: str, oid: str, unique_id: str, hide: tuple[str, ...], agent: str,
    as_json: bool,
) -> None:  # fmt: skip
    """TD3.3a: who may see the document; no --hide shows it to all (release after the annonce)."""
    wanted = Visibility.hiding(hide)
    done = _change(
        obj, nir, oid, unique_id, agent,
        lambda desk, patient, sent: desk.set_visibility(patient, sent, wanted),
    )  # fmt: skip
    _written(obj, as_json, "visibility", done)


@dmp.command("delete")
@_NIR
@_OID
@_DOCUMENT
@_AGENT
@_JSON
@click.pass_obj
def delete(obj: CliContext, nir: str, oid: str, unique_id: str, agent: str, as_json: bool) -> None:
    """TD3.3b: delete a document this establishment sent (its author's right)."""
    done = _change(
        obj, nir, oid, unique_id, agent,
        lambda desk, patient, sent: desk.delete(patient, sent),
    )  # fmt: skip
    _written(obj, as_json, "delete", done)


@dmp.command("misfiled")
@_NIR
@_OID
@_DOCUMENT
@click.option("--reason", required=True, help="Why it was the wrong DMP.")
@_AGENT
@_JSON
@click.pass_obj
def misfiled(
    obj: CliContext, nir: str, oid: str, unique_id: str, reason: str, agent: str, as_json: bool
) -> None:
    """TD3.3c: withdraw a document sent to this patient's DMP by mistake, with the reason."""
    done = _change(
        obj, nir, oid, unique_id, agent,
        lambda desk, patient, sent: desk.wrong_patient(patient, sent, reason),
    )  # fmt: skip
    _written(obj, as_json, "misfiled", done)
