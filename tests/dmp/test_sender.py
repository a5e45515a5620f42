"""The DMP sender behind the real outbox and sync worker, against the simulated DMP."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.items import authorization_item, creation_item
from kiosk.dmp.sender import DmpSender, registry_item
from kiosk.dmp.transactions import ConsentStatement, CreationRequest
from kiosk.dmp.xds import build_submission
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.ports import OutboxItem, PermanentSendError
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import Step, SyncPolicy, SyncWorker
from kiosk.sim.dmp.service import DmpFault, DmpSimulator
from kiosk.sim.pki import TestPki
from tests.outbox.fakes import VirtualTime

from .registry import Registry
from .samples import PATIENT, T0, VITALE_TRAITS, creation, sample_submission
from .simulated import ClientFactory


@pytest.fixture
async def outbox(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[OutboxStore]:
    key = FileDeviceKey.load_or_create(tmp_path / "device.key")
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", key, clock)
    yield store
    await store.close()


def _worker(store: OutboxStore, sender: DmpSender, clock: FrozenClock) -> SyncWorker:
    return SyncWorker(store, sender, clock=clock, policy=SyncPolicy(), sleep=VirtualTime(clock))


Enqueue = Callable[[tuple[str, str, bytes]], Awaitable[None]]


@pytest.fixture
def enqueue(outbox: OutboxStore, test_pki: TestPki) -> Enqueue:
    """Queue an item as the desk does: signed by the establishment at enqueue time."""
    signer = test_pki.signer_for("establishment")

    async def put(item: tuple[str, str, bytes]) -> None:
        kind, key, payload = item
        await outbox.enqueue(kind=kind, idempotency_key=key, payload=payload, signer=signer)

    return put


@pytest.fixture
def worker(outbox: OutboxStore, make_client: ClientFactory, clock: FrozenClock) -> SyncWorker:
    """The sync worker draining the outbox to the simulated DMP, on virtual time."""
    return _worker(outbox, DmpSender(make_client()), clock)


async def test_queued_creation_is_delivered_once(
    enqueue: Enqueue, worker: SyncWorker, outbox: OutboxStore, sim: DmpSimulator
) -> None:
    await enqueue(creation_item(creation()))
    assert await worker.step() is Step.SENT
    assert await worker.step() is Step.IDLE
    assert sim.dmp_exists(PATIENT.matricule.value)
    assert (await outbox.status()).counts.get("done") == 1


async def test_lost_answer_is_resent_with_the_same_key_and_makes_one_dmp(
    enqueue: Enqueue, worker: SyncWorker, sim: DmpSimulator
) -> None:
    await enqueue(creation_item(creation()))
    sim.inject(DmpFault.LOST_RESPONSE, count=2)
    assert await worker.step() is Step.OFFLINE  # not the row's fault
    assert await worker.step() is Step.OFFLINE
    assert sim.dmp_count() == 1
    assert await worker.step() is Step.SENT
    assert sim.dmp_count() == 1


async def test_outage_then_soap_fault_then_success(
    enqueue: Enqueue, worker: SyncWorker, sim: DmpSimulator, clock: FrozenClock
) -> None:
    await enqueue(creation_item(creation()))
    sim.inject(DmpFault.HTTP_503)
    assert await worker.step() is Step.OFFLINE
    assert sim.dmp_count() == 0
    sim.inject(DmpFault.SOAP_FAULT)  # a Receiver fault: answered, counted, retried later
    assert await worker.step() is Step.RETRY
    clock.advance(3600)
    assert await worker.step() is Step.SENT
    assert sim.dmp_count() == 1


async def test_creation_of_an_existing_dmp_is_a_dead_letter_with_its_code(
    enqueue: Enqueue,
    worker: SyncWorker,
    outbox: OutboxStore,
    make_client: ClientFactory,
    sim: DmpSimulator,
) -> None:
    await make_client().create(creation(), request_id="elsewhere")
    await enqueue(creation_item(creation()))
    assert await worker.step() is Step.DEAD
    dead = await outbox.rows(state="dead")
    assert dead[0].last_error == "DMP_EXISTANT"
    assert sim.dmp_count() == 1


async def test_authorization_item_records_the_establishment(
    enqueue: Enqueue, worker: SyncWorker, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    consent = ConsentStatement(T0, creation=True, establishment_access=False)
    await make_client().create(CreationRequest(PATIENT, VITALE_TRAITS, consent), request_id="c")
    await enqueue(authorization_item(PATIENT, "3750100000"))
    assert await worker.step() is Step.SENT
    assert sim.show(PATIENT.matricule.value)["authorizations"] == {"3750100000": "VALIDE"}


def test_creation_key_is_the_business_action() -> None:
    assert creation_item(creation())[1] == creation_item(creation())[1]
    later = ConsentStatement(T0.replace(hour=11), creation=True, establishment_access=True)
    later_request = CreationRequest(PATIENT, VITALE_TRAITS, later)
    assert creation_item(later_request)[1] != creation_item(creation())[1]


async def test_unknown_kind_is_permanent(make_client: ClientFactory) -> None:
    item = OutboxItem(uuid.uuid4(), "k", "dmp.teleport", b"{}", b"", "x", 0)
    with pytest.raises(PermanentSendError):
        await DmpSender(make_client()).send(item)


async def test_corrupt_payload_is_permanent(make_client: ClientFactory) -> None:
    item = OutboxItem(uuid.uuid4(), "k", "dmp.create", b'{"ins": 3}', b"", "x", 0)
    with pytest.raises(PermanentSendError) as caught:
        await DmpSender(make_client()).send(item)
    assert caught.value.fault_code == "PAYLOAD_INVALID"


async def test_resent_document_after_a_lost_answer_is_acknowledged_as_duplicate(
    enqueue: Enqueue, outbox: OutboxStore, make_client: ClientFactory, clock: FrozenClock
) -> None:
    registry = Registry()
    registry.lose_next = 1
    submission = sample_submission()
    item = registry_item(
        "TD2.1", build_submission(submission), PATIENT, submission.document_unique_id
    )
    await enqueue(item)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=registry), base_url="http://dmp.test"
    ) as transport:
        worker = _worker(outbox, DmpSender(make_client(transport=transport)), clock)
        assert await worker.step() is Step.OFFLINE
        assert await worker.step() is Step.SENT
    assert registry.stored == {submission.document_unique_id}
    done = await outbox.rows(state="done")
    assert len(done) == 1


def test_registry_item_key_is_the_document_unique_id() -> None:
    submission = sample_submission()
    body = build_submission(submission)
    first = registry_item("TD2.1", body, PATIENT, submission.document_unique_id)
    other = dataclasses.replace(submission, entry_uuid=uuid.uuid4())
    again = registry_item("TD2.1", build_submission(other), PATIENT, other.document_unique_id)
    assert first[1] == again[1]
