"""The simulated DMP, driven through the real SOAP client, VIHF and signatures."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kiosk.clock import uuid7
from kiosk.dmp.attributes import AttributeChange, AttributeUpdate, build_attribute_update
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    AuthorizationStatus,
    CreationRequest,
    ExistenceQuery,
    WebAccountRequest,
    read_existence_response,
    read_transaction_response,
)
from kiosk.dmp.vocabulary import INS_TEST_OID
from kiosk.dmp.xds import read_registry_response
from kiosk.domain.ins import Ins
from kiosk.domain.visibility import Visibility
from kiosk.errors import AccessDenied, SoapFault, Unavailable
from kiosk.signing import KeySigner, Signer
from kiosk.sim.dmp.service import DmpFault, DmpSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.envelope import NS as SOAP_NS
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, full_consent, sample_submission, submit


async def test_creation_then_existence_then_web_account(desk: Desk) -> None:
    before = read_existence_response((await desk.send(ExistenceQuery(PATIENT))).payload)
    assert (before.exists, before.authorization) == (False, AuthorizationStatus.NONE)

    created = read_transaction_response(
        (await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))).payload
    )
    assert created.ack.accepted

    after = read_existence_response((await desk.send(ExistenceQuery(PATIENT))).payload)
    assert (after.exists, after.authorization, after.web_account_open) == (
        True,
        AuthorizationStatus.VALID,
        False,
    )
    web = read_transaction_response(
        (await desk.send(WebAccountRequest(PATIENT, email="alice@example.org"))).payload
    )
    assert web.credentials is not None
    assert web.credentials.identifier.startswith("DMP")
    assert [t.transaction for t in desk.sim.traces(PATIENT.matricule.value)] == [
        "TD0.2",
        "TD1.1",
        "TD0.2",
        "TD1.5",
    ]


async def test_second_creation_is_refused(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    again = read_transaction_response(
        (await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))).payload
    )
    assert (again.ack.accepted, again.ack.code) == (False, "DMP_EXISTANT")
    assert desk.sim.dmp_count() == 1


async def test_lost_response_resent_with_same_message_id_creates_one_dmp(desk: Desk) -> None:
    desk.sim.inject(DmpFault.LOST_RESPONSE)
    request = CreationRequest(PATIENT, TRAITS, full_consent())
    with pytest.raises(Unavailable):
        await desk.send(request, message_id="outbox-key-1")
    assert desk.sim.dmp_exists(PATIENT.matricule.value)
    desk.clock.advance(5)
    resent = read_transaction_response(
        (await desk.send(request, message_id="outbox-key-1")).payload
    )
    assert resent.ack.accepted
    assert desk.sim.dmp_count() == 1


async def test_vihf_signed_with_the_authentication_key_is_refused(desk: Desk) -> None:
    files = desk.pki.files("doctor", "auth")
    auth = KeySigner.from_pem_files(files.key, files.certificate, desk.pki.identity("doctor"))
    with pytest.raises(AccessDenied, match="authentication key"):
        await desk.send(ExistenceQuery(PATIENT), signer=auth)


async def test_authorization_needs_an_existing_dmp(desk: Desk) -> None:
    answer = read_transaction_response((await desk.send(AuthorizationRequest(PATIENT))).payload)
    assert (answer.ack.accepted, answer.ack.code) == (False, "DMP_INEXISTANT")


async def test_injected_faults_reach_the_client_as_errors(desk: Desk) -> None:
    desk.sim.inject(DmpFault.HTTP_503)
    with pytest.raises(Unavailable):
        await desk.send(ExistenceQuery(PATIENT))
    desk.sim.inject(DmpFault.SOAP_FAULT)
    with pytest.raises(SoapFault):
        await desk.send(ExistenceQuery(PATIENT))
    assert desk.sim.dmp_count() == 0


async def test_latency_past_the_timeout_is_unavailable_but_the_work_is_done(desk: Desk) -> None:
    desk.sim.latency_s = 0.5
    desk.sim.inject(DmpFault.LATENCY)
    transport = httpx.ASGITransport(app=desk.sim.app)
    async with httpx.AsyncClient(transport=transport) as http:
        impatient = SoapClient(http, "http://dmp.test/", "DMP", timeout_s=0.1)
        envelope, action = desk.envelope(CreationRequest(PATIENT, TRAITS, full_consent()))
        with pytest.raises(Unavailable):
            await impatient.call(envelope, action=action)
    assert desk.sim.dmp_exists(PATIENT.matricule.value)
    answer = await desk.send(ExistenceQuery(PATIENT))  # the fault was played once only
    assert answer is not None


async def test_state_survives_a_restart(desk: Desk, pki: TestPki, tmp_path: Path) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    desk.sim.close()
    again = DmpSimulator(IssuedBy((pki.ca_certificate,), desk.clock.now), tmp_path / "dmp.sqlite3")
    try:
        assert again.show(PATIENT.matricule.value)["exists"] is True
        assert again.show(PATIENT.matricule.value)["authorizations"] == {"3750100000": "VALIDE"}
    finally:
        again.close()
    desk.sim = DmpSimulator(
        IssuedBy((pki.ca_certificate,), desk.clock.now), tmp_path / "other.sqlite3"
    )


async def test_replayed_vihf_is_refused(desk: Desk) -> None:
    envelope, action = desk.envelope(ExistenceQuery(PATIENT))
    await desk.soap.call(envelope, action=action)
    with pytest.raises(AccessDenied, match="Replayed"):
        await desk.soap.call(envelope, action=action)


async def test_expired_vihf_is_refused_and_nothing_is_created(desk: Desk) -> None:
    envelope, action = desk.envelope(CreationRequest(PATIENT, TRAITS, full_consent()))
    desk.clock.advance(600)
    with pytest.raises(SoapFault, match="expired"):
        await desk.soap.call(envelope, action=action)
    assert desk.sim.dmp_count() == 0


async def test_vihf_for_another_patient_is_refused(desk: Desk) -> None:
    other = Ins.of("253072B07300470", INS_TEST_OID)
    envelope, action = desk.envelope(ExistenceQuery(PATIENT))
    request, _ = desk.envelope(ExistenceQuery(other))
    body = envelope.find(f"{{{SOAP_NS['soap']}}}Body")
    assert body is not None
    body[0] = request.find(f"{{{SOAP_NS['soap']}}}Body")[0]  # type: ignore[index]
    with pytest.raises(SoapFault, match="patient"):
        await desk.soap.call(envelope, action=action)


async def test_submission_is_stored_once_even_when_resent(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    assert await submit(desk, sample_submission()) == (True, ())
    assert await submit(desk, sample_submission()) == (True, ())  # resent after a lost answer
    (stored,) = desk.sim.documents.documents_for(PATIENT.matricule.value)
    assert stored.type_code == "11490-0"
    assert Visibility.from_codes(stored.confidentiality) == Visibility(patient=False)
    assert stored.authors == ("899900000001",)


async def test_another_document_with_the_same_unique_id_is_refused(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    await submit(desk, sample_submission("e1"))
    ok, errors = await submit(desk, sample_submission("e2"))
    assert not ok
    assert errors[0][0] == "XDSDuplicateUniqueIdInRegistry"
    assert len(desk.sim.documents.documents_for(PATIENT.matricule.value)) == 1


async def test_submission_without_a_dmp_is_refused(desk: Desk) -> None:
    ok, errors = await submit(desk, sample_submission())
    assert (ok, errors[0][0]) == (False, "XDSUnknownPatientId")


async def test_visibility_change_and_delete_by_the_author_only(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    submission = sample_submission()
    await submit(desk, submission)
    entry, unique = f"urn:uuid:{submission.entry_uuid}", submission.document_unique_id

    async def update(change: AttributeChange, signer: Signer | None = None, **kw: object) -> bool:
        request = AttributeUpdate(uuid7(desk.clock), PATIENT, entry, unique, change, **kw)  # type: ignore[arg-type]
        action = "urn:ihe:iti:2010:UpdateDocumentSet"
        envelope = desk.wrap(build_attribute_update(request), action, PATIENT, signer=signer)
        return read_registry_response((await desk.soap.call(envelope, action=action)).payload)[0]

    assert await update(AttributeChange.VISIBILITY, visibility=Visibility(professionals=False))
    (stored,) = desk.sim.documents.documents_for(PATIENT.matricule.value)
    assert Visibility.from_codes(stored.confidentiality) == Visibility(professionals=False)
    assert not await update(AttributeChange.DELETE, signer=desk.pki.signer_for("nurse"))
    assert await update(AttributeChange.DELETE)
    assert desk.sim.documents.documents_for(PATIENT.matricule.value)[0].status == "Deleted"


async def test_feeding_over_five_per_second_is_refused_then_accepted(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    for n in range(5):
        assert (await submit(desk, sample_submission(f"burst-{n}", doc=f"burst-{n}")))[0]
    with pytest.raises(SoapFault, match="per second"):
        await submit(desk, sample_submission("burst-5", doc="burst-5"))
    assert desk.sim.feeding.refusals == 1
    assert desk.sim.feeding.calls[("3750100000", "TEST-DMP-HOMOLOGATION")] == 6
    desk.clock.advance(1.0)
    assert (await submit(desk, sample_submission("burst-5", doc="burst-5")))[0]


async def test_hostile_request_is_refused_before_anything_happens(desk: Desk) -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    hostile = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]>'
        f"<soap:Envelope xmlns:soap='{SOAP_NS['soap']}'><soap:Body>&l9;</soap:Body></soap:Envelope>"
    )
    answer = await desk.soap.http.post("http://dmp.test/", content=hostile.encode())
    assert answer.status_code == 400
    assert b"MessageInvalide" in answer.content
    assert desk.sim.dmp_count() == 0


async def test_document_carrying_a_dtd_is_refused(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    hostile = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>'
    ok, errors = await submit(desk, sample_submission(document=hostile))
    assert (ok, errors[0][0]) == (False, "XDSRepositoryMetadataError")
    assert desk.sim.documents.documents_for(PATIENT.matricule.value) == []
