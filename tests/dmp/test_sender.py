"""The DMP sender behind the real outbox and sync worker, against the simulated DMP."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.attributes import read_attribute_update
from kiosk.dmp.cda import build_cda
from kiosk.dmp.mtom import root_part
from kiosk.dmp.sender import DmpSender, authorization_item, creation_item, registry_item
from kiosk.dmp.transactions import ConsentStatement, CreationRequest
from kiosk.dmp.vocabulary import OID, CodedValue
from kiosk.dmp.xds import Submission, build_registry_response, build_submission, read_submission
from kiosk.domain.visibility import Visibility
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.ports import OutboxItem, PermanentSendError
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import Step, SyncPolicy, SyncWorker
from kiosk.signing import KeySigner
from kiosk.sim.dmp_service import DmpFault, DmpSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.envelope import build_envelope, parse_envelope, serialize
from tests.outbox.fakes import VirtualTime

from .conftest import PATIENT, T0, cda_document
from .test_client import (
    TRAITS,
    ClientFactory,
    clock,
    cps_module,
    creation,
    http,
    make_client,
    pin_lock,
    sim,
    softhsm,
    test_pki,
)

__all__ = ["clock", "cps_module", "http", "make_client", "pin_lock", "sim", "softhsm", "test_pki"]


@pytest.fixture
async def outbox(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[OutboxStore]:
    key = FileDeviceKey.load_or_create(tmp_path / "device.key")
    store = await OutboxStore.open(tmp_path / "outbox.sqlite3", key, clock)
    yield store
    await store.close()


def _worker(store: OutboxStore, sender: DmpSender, clock: FrozenClock) -> SyncWorker:
    return SyncWorker(store, sender, clock=clock, policy=SyncPolicy(), sleep=VirtualTime(clock))


async def _enqueue(store: OutboxStore, signer: KeySigner, item: tuple[str, str, bytes]) -> None:
    kind, key, payload = item
    await store.enqueue(kind=kind, idempotency_key=key, payload=payload, signer=signer)


@pytest.fixture
def signer(test_pki: TestPki) -> KeySigner:
    return test_pki.signer_for("establishment")


async def test_queued_creation_is_delivered_once(
    outbox: OutboxStore,
    make_client: ClientFactory,
    sim: DmpSimulator,
    clock: FrozenClock,
    signer: KeySigner,
) -> None:
    await _enqueue(outbox, signer, creation_item(creation()))
    worker = _worker(outbox, DmpSender(make_client()), clock)
    assert await worker.step() is Step.SENT
    assert await worker.step() is Step.IDLE
    assert sim.dmp_exists(PATIENT.matricule.value)
    assert (await outbox.status()).counts.get("done") == 1


async def test_lost_answer_is_resent_with_the_same_key_and_makes_one_dmp(
    outbox: OutboxStore,
    make_client: ClientFactory,
    sim: DmpSimulator,
    clock: FrozenClock,
    signer: KeySigner,
) -> None:
    await _enqueue(outbox, signer, creation_item(creation()))
    worker = _worker(outbox, DmpSender(make_client()), clock)
    sim.inject(DmpFault.LOST_RESPONSE, count=2)
    assert await worker.step() is Step.OFFLINE  # not the row's fault
    assert await worker.step() is Step.OFFLINE
    assert sim.dmp_count() == 1
    assert await worker.step() is Step.SENT
    assert sim.dmp_count() == 1


async def test_outage_then_soap_fault_then_success(
    outbox: OutboxStore,
    make_client: ClientFactory,
    sim: DmpSimulator,
    clock: FrozenClock,
    signer: KeySigner,
) -> None:
    await _enqueue(outbox, signer, creation_item(creation()))
    worker = _worker(outbox, DmpSender(make_client()), clock)
    sim.inject(DmpFault.HTTP_503)
    assert await worker.step() is Step.OFFLINE
    assert sim.dmp_count() == 0
    sim.inject(DmpFault.SOAP_FAULT)  # a Receiver fault: answered, counted, retried later
    assert await worker.step() is Step.RETRY
    clock.advance(3600)
    assert await worker.step() is Step.SENT
    assert sim.dmp_count() == 1


async def test_creation_of_an_existing_dmp_is_a_dead_letter_with_its_code(
    outbox: OutboxStore,
    make_client: ClientFactory,
    sim: DmpSimulator,
    clock: FrozenClock,
    signer: KeySigner,
) -> None:
    await make_client().create(creation(), request_id="elsewhere")
    await _enqueue(outbox, signer, creation_item(creation()))
    worker = _worker(outbox, DmpSender(make_client()), clock)
    assert await worker.step() is Step.DEAD
    dead = await outbox.rows(state="dead")
    assert dead[0].last_error == "DMP_EXISTANT"
    assert sim.dmp_count() == 1


async def test_authorization_item_records_the_establishment(
    outbox: OutboxStore,
    make_client: ClientFactory,
    sim: DmpSimulator,
    clock: FrozenClock,
    signer: KeySigner,
) -> None:
    consent = ConsentStatement(T0, creation=True, establishment_access=False)
    await make_client().create(CreationRequest(PATIENT, TRAITS, consent), request_id="c")
    await _enqueue(outbox, signer, authorization_item(PATIENT, "3750100000"))
    worker = _worker(outbox, DmpSender(make_client()), clock)
    assert await worker.step() is Step.SENT
    assert sim.show(PATIENT.matricule.value)["authorizations"] == {"3750100000": "VALIDE"}


def test_creation_key_is_the_business_action() -> None:
    assert creation_item(creation())[1] == creation_item(creation())[1]
    later = ConsentStatement(T0.replace(hour=11), creation=True, establishment_access=True)
    assert creation_item(CreationRequest(PATIENT, TRAITS, later))[1] != creation_item(creation())[1]


async def test_unknown_kind_is_permanent(make_client: ClientFactory) -> None:
    item = OutboxItem(uuid.uuid4(), "k", "dmp.teleport", b"{}", b"", "x", 0)
    with pytest.raises(PermanentSendError):
        await DmpSender(make_client()).send(item)


async def test_corrupt_payload_is_permanent(make_client: ClientFactory) -> None:
    item = OutboxItem(uuid.uuid4(), "k", "dmp.create", b'{"ins": 3}', b"", "x", 0)
    with pytest.raises(PermanentSendError) as caught:
        await DmpSender(make_client()).send(item)
    assert caught.value.fault_code == "PAYLOAD_INVALID"


class _Registry:
    """A minimal XDS registry: stores uniqueIds and refuses a second one (ITI-41 rule)."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.lose_next = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        envelope = parse_envelope(root_part(raw), max_bytes=16 << 20)
        errors: tuple[tuple[str, str], ...] = ()
        if envelope.action.endswith("UpdateDocumentSet"):
            # An attribute update sets a state: applying it again changes nothing.
            self.stored.add(f"update:{read_attribute_update(envelope.payload).entry_uuid}")
        else:
            for entry in read_submission(envelope.payload).entries:
                if entry.unique_id in self.stored:
                    errors += (("XDSDuplicateUniqueIdInRegistry", entry.unique_id),)
                self.stored.add(entry.unique_id)
        status = 200
        if self.lose_next:
            self.lose_next -= 1
            status = 502
        reply = build_envelope(
            build_registry_response(errors),
            action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
            message_id="urn:uuid:00000000-0000-4000-8000-000000000000",
            relates_to=envelope.message_id,
        )
        body = serialize(reply) if status == 200 else b"<html>502</html>"
        headers = [(b"content-type", b"application/soap+xml; charset=utf-8")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _submission() -> Submission:
    cda = cda_document()
    return Submission(
        cda=cda,
        document=etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8"),
        entry_uuid=uuid.UUID("0190a1b2-0000-7000-8000-0000000000e1"),
        submission_uuid=uuid.UUID("0190a1b2-0000-7000-8000-000000000051"),
        submission_unique_id="1.2.250.1.999.1.2.1",
        source_id="1.2.250.1.999.1.3",
        visibility=Visibility(patient=False),
        class_code=CodedValue("10", OID["xds_class"], "Compte rendu"),
        practice=CodedValue("ETABLISSEMENT", OID["xds_practice"], "Établissement de santé"),
        content_type=CodedValue("04", OID["xds_content_type"], "Hospitalisation"),
        submitted=T0,
    )


async def test_resent_document_after_a_lost_answer_is_acknowledged_as_duplicate(
    outbox: OutboxStore, make_client: ClientFactory, clock: FrozenClock, signer: KeySigner
) -> None:
    registry = _Registry()
    registry.lose_next = 1
    submission = _submission()
    item = registry_item(
        "TD2.1", build_submission(submission), PATIENT, submission.document_unique_id
    )
    await _enqueue(outbox, signer, item)
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
    submission = _submission()
    body = build_submission(submission)
    first = registry_item("TD2.1", body, PATIENT, submission.document_unique_id)
    other = dataclasses.replace(submission, entry_uuid=uuid.uuid4())
    again = registry_item("TD2.1", build_submission(other), PATIENT, other.document_unique_id)
    assert first[1] == again[1]
