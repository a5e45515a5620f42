"""The admission end to end: real DMP client, simulated DMP, real outbox and sync worker."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.client import DmpClient
from kiosk.dmp.sender import DmpSender
from kiosk.dmp.transactions import ConsentStatement, CreationRequest, WebCredentials
from kiosk.domain.ins import Identity, IdentityStatus
from kiosk.errors import Unavailable
from kiosk.outbox.delivery import StoreOutbox
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncWorker
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.stages import Stage
from kiosk.sim.dmp.service import DmpFault, DmpSimulator
from kiosk.sim.pki import TestPki
from tests.dmp.samples import PATIENT, T0, TRAITS, VITALE_TRAITS
from tests.dmp.simulated import ClientFactory, clock, http, make_client, sim
from tests.outbox.fakes import VirtualTime
from tests.services.memory_ports import MemoryDmpRecords
from tests.softhsm import test_pki

__all__ = ["clock", "http", "make_client", "sim", "test_pki"]

QUALIFIED = Identity(PATIENT, TRAITS, IdentityStatus.QUAL)


@dataclass
class Receipts:
    """A printer port keeping what it printed (the print queue's role at the desk)."""

    printed: list[WebCredentials] = field(default_factory=list)

    async def print_credentials(self, credentials: WebCredentials) -> None:
        self.printed.append(credentials)


@dataclass
class Desk:
    """Everything one admission needs, wired as the appliance wires it."""

    client: DmpClient
    store: OutboxStore
    outbox: StoreOutbox
    worker: SyncWorker
    records: MemoryDmpRecords
    receipts: Receipts
    clock: FrozenClock

    def flow(self) -> EnrolmentFlow:
        return EnrolmentFlow(
            dmp=self.client,
            outbox=self.outbox,
            records=self.records,
            printer=self.receipts,
            clock=self.clock,
            structure_id="3750100000",
            recorded_by="3750100000/0000042",
        )


@pytest.fixture
async def desk(
    tmp_path: Path, make_client: ClientFactory, test_pki: TestPki, clock: FrozenClock
) -> AsyncIterator[Desk]:
    key = FileDeviceKey.load_or_create(tmp_path / "device.key")
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", key, clock)
    client = make_client()
    worker = SyncWorker(
        store, DmpSender(client), clock=clock, policy=SyncPolicy(), sleep=VirtualTime(clock)
    )
    outbox = StoreOutbox(store, test_pki.signer_for("establishment"), worker.run_once)
    yield Desk(client, store, outbox, worker, MemoryDmpRecords(), Receipts(), clock)
    await store.close()


async def test_admission_creates_one_dmp_opens_the_account_and_prints_on_request(
    desk: Desk, sim: DmpSimulator
) -> None:
    admission = desk.flow()
    assert await admission.start(QUALIFIED, VITALE_TRAITS) is Stage.NO_DMP
    await admission.give_information(brochure=True)
    assert await admission.consent(creation=True, establishment_access=True) is Stage.CREATED
    assert sim.dmp_count() == 1
    assert await admission.open_web_account(mobile="0612345678") is Stage.WEB_ACCOUNT_OPEN
    assert desk.receipts.printed == []
    await admission.print_credentials()
    await admission.print_credentials()
    assert desk.receipts.printed[0] == desk.receipts.printed[1]
    assert admission.finish() is Stage.DONE
    shown = sim.show(PATIENT.matricule.value)
    assert shown["web_account"] is True
    assert shown["consent"] == {
        "establishment_access": True,
        "emergency_access": True,
        "regulation_centre_access": True,
    }


async def test_next_admission_skips_the_existence_test(desk: Desk, sim: DmpSimulator) -> None:
    first = desk.flow()
    await first.start(QUALIFIED, VITALE_TRAITS)
    await first.give_information(brochure=True)
    await first.consent(creation=True, establishment_access=True)
    calls = len(sim.traces(PATIENT.matricule.value))
    second = desk.flow()
    assert await second.start(QUALIFIED, VITALE_TRAITS) is Stage.AUTHORIZED
    assert len(sim.traces(PATIENT.matricule.value)) == calls


async def test_offline_creation_is_deferred_then_delivered_once(
    desk: Desk, sim: DmpSimulator
) -> None:
    admission = desk.flow()
    await admission.start(QUALIFIED, VITALE_TRAITS)
    await admission.give_information(brochure=True)
    sim.inject(DmpFault.HTTP_503)
    assert await admission.consent(creation=True, establishment_access=True) is Stage.DEFERRED
    assert sim.dmp_count() == 0
    await desk.worker.run_once()
    assert sim.dmp_count() == 1


async def test_lost_answer_during_the_admission_still_makes_one_dmp(
    desk: Desk, sim: DmpSimulator
) -> None:
    admission = desk.flow()
    await admission.start(QUALIFIED, VITALE_TRAITS)
    await admission.give_information(brochure=True)
    sim.inject(DmpFault.LOST_RESPONSE)
    assert await admission.consent(creation=True, establishment_access=True) is Stage.DEFERRED
    assert sim.dmp_count() == 1
    await desk.worker.run_once()
    assert sim.dmp_count() == 1
    status = await desk.store.status()
    assert status.counts.get("done") == 1


async def test_existing_dmp_without_authorization_gets_it(
    desk: Desk, sim: DmpSimulator, make_client: ClientFactory
) -> None:
    consent = ConsentStatement(T0, creation=True, establishment_access=False)
    await make_client().create(
        CreationRequest(PATIENT, VITALE_TRAITS, consent), request_id="earlier"
    )
    admission = desk.flow()
    assert await admission.start(QUALIFIED, VITALE_TRAITS) is Stage.NEEDS_AUTHORIZATION
    assert await admission.authorize(agreed=True) is Stage.AUTHORIZED
    assert sim.show(PATIENT.matricule.value)["authorizations"] == {"3750100000": "VALIDE"}


async def test_existence_test_failure_leaves_the_admission_where_it_was(
    desk: Desk, sim: DmpSimulator
) -> None:
    admission = desk.flow()
    sim.inject(DmpFault.HTTP_503)
    with pytest.raises(Unavailable):
        await admission.start(QUALIFIED, VITALE_TRAITS)
    assert admission.stage is Stage.QUALIFIED
    assert desk.records.facts == {}
    assert await admission.start(QUALIFIED, VITALE_TRAITS) is Stage.NO_DMP  # asked again


def fill_with_acknowledged_rows(path: Path, count: int) -> None:
    """``count`` acknowledged rows older than any admission, their audit lines owed to nobody."""
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO outbox (id, idempotency_key, kind, state, created_at,"
            " next_attempt_at, key_id, signer_id) VALUES (?, ?, 'filler', 'done', ?, ?, 'k', 's')",
            ((f"row-{n}", f"earlier-{n}", "2026-01-01", "2026-01-01") for n in range(count)),
        )
        conn.execute("UPDATE audit_head SET outbox_seq = (SELECT MAX(seq) FROM outbox)")


async def test_a_creation_is_acknowledged_in_an_outbox_holding_more_than_a_thousand_rows(
    desk: Desk, sim: DmpSimulator
) -> None:
    fill_with_acknowledged_rows(desk.store.path, 1_200)
    admission = desk.flow()
    await admission.start(QUALIFIED, VITALE_TRAITS)
    await admission.give_information(brochure=True)
    assert await admission.consent(creation=True, establishment_access=True) is Stage.CREATED
    assert sim.dmp_count() == 1
