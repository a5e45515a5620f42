"""The document desk (:class:`~kiosk.services.documents.DocumentDesk`) of a session or a command.

The desk's session builds one per logged-in agent (:func:`document_desk`, from
:func:`~kiosk.wiring.services.open_services`); ``kiosk dmp submit`` and its siblings open
their own on the establishment's certificate, for the agent ``--agent`` names
(:func:`open_documents`). Both queue through the outbox and name the person in the
VIHF, the queued item and the audit line (:func:`~kiosk.wiring.writes.named`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.clock import Clock, SystemClock
from kiosk.config import Settings
from kiosk.signing import Signer
from kiosk.wiring.world import world_facts
from kiosk.wiring.writes import Writes, named, open_writes

if TYPE_CHECKING:
    from kiosk.cards.professional import ProfessionalIdentity
    from kiosk.services.documents import DocumentDesk

__all__ = ["document_desk", "open_documents"]


def document_desk(
    settings: Settings,
    writes: Writes,
    *,
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
    from kiosk.dmp.vocabulary import OID, CodedValue
    from kiosk.services.documents import DocumentDesk, DocumentSite

    site = settings.site
    registry, queued = named(writes, signer, run_once, who, recorded_by, role, by_id=True)
    if who is not None and who.national_id == recorded_by:
        profession = (
            CodedValue(who.profession_code, OID["g15_profession"]) if who.profession_code else None
        )
        family, given = who.family_name or who.organisation, who.given_name
    else:  # a command: the agent named by their local id
        profession, family, given = None, recorded_by, ""
    author = DocumentAuthor(
        recorded_by, family, given, profession, site.establishment_id, site.establishment_name
    )
    return DocumentDesk(
        registry=registry,
        outbox=queued,
        records=writes.records,
        trail=writes.outbox,
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
    clock = clock or SystemClock()
    facts = world_facts(settings, state_dir)
    async with open_writes(settings, clock, facts=facts, state_dir=state_dir) as writes:
        yield document_desk(
            settings,
            writes,
            run_once=writes.sync.run_once,
            clock=clock,
            signer=writes.signer,
            who=None,
            recorded_by=agent,
            role=role,
            mode="indirect",
        )
