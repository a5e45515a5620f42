"""The DMP's writing side, opened once: outbox, records, establishment signer, client, sync.

:func:`open_writes` is what the desk's services (:func:`~kiosk.wiring.services.open_services`)
and ``kiosk dmp submit`` (:func:`~kiosk.wiring.documents.open_documents`) both stand on;
:func:`named` gives one person's client and outbox port on it, so the VIHF, the queued
item and its signature name who acted (seed 000: « identification nominative »).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.signing import Signer
from kiosk.wiring.dmp import build_dmp_client, build_dmp_http
from kiosk.wiring.outbox import open_outbox, outbox_sender, outbox_trust
from kiosk.wiring.records import open_records
from kiosk.wiring.signers import establishment_signer

if TYPE_CHECKING:
    from kiosk.cards.professional import ProfessionalIdentity
    from kiosk.dmp.client import DmpClient
    from kiosk.outbox.store import OutboxStore
    from kiosk.records.store import RecordStore
    from kiosk.services.agent_outbox import OutboxPort
    from kiosk.services.sync import SyncService

__all__ = ["Writes", "named", "open_writes"]


@dataclass(frozen=True)
class Writes:
    """What every DMP write goes through."""

    outbox: OutboxStore
    records: RecordStore
    signer: Signer
    """The establishment's ``ORG_SIGN``: the VIHF of every queued send."""
    dmp: DmpClient
    sync: SyncService


@contextlib.asynccontextmanager
async def open_writes(
    settings: Settings, clock: Clock, *, facts: Mapping[str, object], state_dir: Path | None
) -> AsyncIterator[Writes]:
    """Open the outbox, the records, the signer, the DMP client and its sync for the block."""
    from kiosk.services.sync import SyncService, policy_from_settings

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
        yield Writes(outbox, records, signer, dmp, sync)


def named(
    writes: Writes,
    agent: Signer,
    run_once: Callable[[], Awaitable[object]],
    who: ProfessionalIdentity | None,
    recorded_by: str,
    role: str,
    *,
    by_id: bool = False,
) -> tuple[DmpClient, OutboxPort]:
    """The client and outbox port for the person ``recorded_by`` names.

    ``who`` is the person logged in (their card, or a named login on the establishment's
    key): the VIHF and the queued item name them, signed by their card or on their
    behalf. Without ``who``, ``by_id`` (a command) names the agent by ``recorded_by``
    alone; otherwise the installation speaks.
    """
    from kiosk.dmp.items import ItemAgent
    from kiosk.outbox.delivery import StoreOutbox
    from kiosk.services.agent_outbox import AgentOutbox, OnBehalfSigner, item_agent

    if who is not None and who.national_id == recorded_by:
        signer = agent
        if agent.identity.national_id != who.national_id:  # the establishment's key
            signer = OnBehalfSigner(agent, who)
        client = writes.dmp.for_agent(who.national_id, who.display_name, role=role)
        return client, AgentOutbox(StoreOutbox(writes.outbox, signer, run_once), item_agent(who))
    if who is None and by_id and recorded_by:
        client = writes.dmp.for_agent(recorded_by, recorded_by, role=role)
        item = ItemAgent(recorded_by, recorded_by, role)
        return client, AgentOutbox(StoreOutbox(writes.outbox, agent, run_once), item)
    return writes.dmp, StoreOutbox(writes.outbox, agent, run_once)
