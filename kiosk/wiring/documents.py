"""The document desk (:class:`~kiosk.services.documents.DocumentDesk`) of a session or a command.

The desk's session builds one per logged-in agent (:func:`document_desk`, from
:func:`~kiosk.wiring.services.open_services`); ``kiosk dmp submit`` and its siblings open
their own on the establishment's certificate, for the agent ``--agent`` names
(:func:`open_documents`). Both queue through the outbox and name the person in the
VIHF, the queued item and the audit line, as the enrolment does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.clock import Clock, SystemClock
from kiosk.config import Settings
from kiosk.signing import Signer
from kiosk.wiring.dmp import build_dmp_client, build_dmp_http
from kiosk.wiring.outbox import open_outbox, outbox_sender, outbox_trust
from kiosk.wiring.records import open_records
from kiosk.wiring.signers import establishment_signer
from kiosk.wiring.world import world_facts

if TYPE_CHECKING:
    from kiosk.cards.professional import ProfessionalIdentity
    from kiosk.dmp.client import DmpClient
    from kiosk.outbox.store import OutboxStore
    from kiosk.records.store import RecordStore
    from kiosk.services.documents import DocumentDesk

__all__ = ["document_desk", "open_documents"]


def document_desk(
    settings: Settings,
    *,
    dmp: DmpClient,
    outbox: OutboxStore,
    records: RecordStore,
    run_once: Callable[[], Awaitable[object]],
    clock: Clock,
    signer: Signer,
    who: ProfessionalIdentity | None,
    recorded_by: str,
    role: str,
    mode: str,
) -> DocumentDesk:
    """The documents of one agent: ``who`` when a card or a named login says who they are."""
    from kiosk.dmp.cda import DocumentAuthor
    from kiosk.dmp.items import ItemAgent
    from kiosk.dmp.vocabulary import OID, CodedValue
    from kiosk.outbox.delivery import StoreOutbox
    from kiosk.services.agent_outbox import AgentOutbox, OnBehalfSigner, item_agent
    from kiosk.services.documents import DocumentDesk, DocumentSite, Outbox

    site = settings.site
    if who is not None and who.national_id == recorded_by:
        registry = dmp.for_agent(who.national_id, who.display_name, role=role)
        named = signer if signer.identity.national_id == who.national_id else None
        queued: Outbox = AgentOutbox(
            StoreOutbox(outbox, named or OnBehalfSigner(signer, who), run_once), item_agent(who)
        )
        profession = (
            CodedValue(who.profession_code, OID["g15_profession"]) if who.profession_code else None
        )
        author = DocumentAuthor(
            who.national_id,
            who.family_name or who.organisation,
            who.given_name,
            profession,
            site.establishment_id,
            site.establishment_name,
        )
    else:  # a command: the agent named by its local id, on the establishment's key
        registry = dmp.for_agent(recorded_by, recorded_by, role=role)
        queued = AgentOutbox(
            StoreOutbox(outbox, signer, run_once), ItemAgent(recorded_by, recorded_by, role)
        )
        author = DocumentAuthor(
            recorded_by, recorded_by, "", None, site.establishment_id, site.establishment_name
        )
    return DocumentDesk(
        registry=registry,
        outbox=queued,
        records=records,
        trail=outbox,
        clock=clock,
        author=author,
        site=DocumentSite(
            document_root=settings.dmp.document_root,
            source_id=settings.dmp.sender_oid,
            facility=CodedValue("SA01", OID["r02_sector"], "Établissement public de santé"),
        ),
        mode=mode,
    )


@contextlib.asynccontextmanager
async def open_documents(
    settings: Settings,
    *,
    agent: str,
    role: str = "admission",
    clock: Clock | None = None,
    state_dir: Path | None = None,
) -> AsyncIterator[DocumentDesk]:
    """A document desk for ``agent`` on the establishment's certificate, open for the block."""
    from kiosk.services.sync import SyncService, policy_from_settings

    clock = clock or SystemClock()
    facts = world_facts(settings, state_dir)
    async with contextlib.AsyncExitStack() as stack:
        outbox = await stack.enter_async_context(open_outbox(settings, clock))
        records = await stack.enter_async_context(open_records(settings))
        signer = await stack.enter_async_context(
            establishment_signer(settings, state_dir=state_dir)
        )
        http = await stack.enter_async_context(build_dmp_http(settings, clock))
        dmp = build_dmp_client(settings, http, signer, clock, facts=facts)
        sender = await stack.enter_async_context(
            outbox_sender(settings, clock, facts=facts, state_dir=state_dir, dmp=dmp)
        )
        sync = SyncService(
            outbox,
            sender,
            clock=clock,
            policy=policy_from_settings(settings),
            trusted=outbox_trust(settings),
        )
        yield document_desk(
            settings,
            dmp=dmp,
            outbox=outbox,
            records=records,
            run_once=sync.run_once,
            clock=clock,
            signer=signer,
            who=None,
            recorded_by=agent,
            role=role,
            mode="indirect",
        )
