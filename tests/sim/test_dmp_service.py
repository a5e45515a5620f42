"""The simulated DMP, driven through the real SOAP client, VIHF and signatures."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from kiosk.clock import FrozenClock, uuid7
from kiosk.dmp.attributes import AttributeChange, AttributeUpdate, build_attribute_update
from kiosk.dmp.cda import build_cda
from kiosk.dmp.hl7v3 import MessageHeader
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    AuthorizationStatus,
    ConsentStatement,
    CreationRequest,
    ExistenceQuery,
    Request,
    VitaleTraits,
    WebAccountRequest,
    build_request,
    read_existence_response,
    read_transaction_response,
)
from kiosk.dmp.vihf import (
    Actor,
    AuthMode,
    EmergencyAccess,
    PurposeOfUse,
    Software,
    VihfRequest,
    build_vihf,
    issuer_of,
)
from kiosk.dmp.vocabulary import INS_TEST_OID, NS, OID, XDS, CodedValue
from kiosk.dmp.xades import sign_submission
from kiosk.dmp.xds import Submission, build_submission, read_registry_response
from kiosk.domain.ins import Ins
from kiosk.domain.visibility import Visibility
from kiosk.errors import AccessDenied, SoapFault, Unavailable
from kiosk.signing import KeySigner, Signer
from kiosk.sim.dmp_service import DMP_ACTION_PREFIX, DmpFault, DmpSimulator
from kiosk.sim.pki import TestPki, ensure_test_pki
from kiosk.soap.envelope import NS as SOAP_NS
from kiosk.soap.envelope import Envelope, build_envelope
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy, security_header, sign_enveloped
from tests.dmp.samples import cda_document

PATIENT = Ins.of("277076322082910", INS_TEST_OID)
TRAITS = VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return ensure_test_pki(Path(tmp_path_factory.mktemp("pki")))


_SUBMISSION = "{urn:ihe:iti:xds-b:2007}ProvideAndRegisterDocumentSetRequest"


@dataclasses.dataclass
class Desk:
    """A kiosk talking to the simulator: builds, signs and sends each transaction."""

    sim: DmpSimulator
    soap: SoapClient
    pki: TestPki
    clock: FrozenClock

    def actor(self, signer: Signer) -> Actor:
        """The VIHF actor of a card: doctor (10 + specialty), nurse (60), CPE agent, or ORG_SIGN."""
        national_id = signer.identity.national_id
        indirect = national_id == "3750100000"  # ORG_SIGN: the agent is known locally
        doctor = national_id == "899900000001"
        staff = national_id.startswith("3")
        profession = (
            CodedValue("ADM", "1.2.250.1.213.1.1.4.6", "Personnel administratif")
            if staff
            else CodedValue("10" if doctor else "60", OID["g15_profession"])
        )
        return Actor(
            issuer=issuer_of(signer.certificate),
            national_id="3750100000/0000042" if indirect else national_id,
            display_name=signer.identity.display_name,
            structure_id="3750100000",
            sector="SA01",
            profession=profession,
            specialty=CodedValue("SM26", OID["r01_specialty"]) if doctor else None,
            mode=AuthMode.INDIRECT if indirect else AuthMode.DIRECT,
        )

    async def send(
        self,
        request: Request,
        *,
        message_id: str = "",
        signer: Signer | None = None,
        purpose: PurposeOfUse = PurposeOfUse.NORMAL,
        emergency: EmergencyAccess | None = None,
    ) -> Envelope:
        envelope, action = self.envelope(
            request, message_id=message_id, signer=signer, purpose=purpose, emergency=emergency
        )
        return await self.soap.call(envelope, action=action)

    def envelope(
        self,
        request: Request,
        *,
        message_id: str = "",
        signer: Signer | None = None,
        purpose: PurposeOfUse = PurposeOfUse.NORMAL,
        emergency: EmergencyAccess | None = None,
    ) -> tuple[etree._Element, str]:
        message_id = message_id or str(uuid7(self.clock))
        header = MessageHeader(message_id, self.clock.now(), "1.2.250.1.999.1.4", "kiosk")
        body = build_request(request, header)
        action = DMP_ACTION_PREFIX + etree.QName(body).localname
        wrapped = self.wrap(body, action, request.patient, message_id, signer, purpose, emergency)
        return wrapped, action

    def wrap(
        self,
        body: etree._Element,
        action: str,
        patient: Ins,
        message_id: str = "",
        signer: Signer | None = None,
        purpose: PurposeOfUse = PurposeOfUse.NORMAL,
        emergency: EmergencyAccess | None = None,
        xades: bool = True,
    ) -> etree._Element:
        """``body`` in a SOAP envelope with a fresh VIHF about ``patient``, signed."""
        signer = signer or self.pki.signer_for("doctor")
        vihf = build_vihf(
            VihfRequest(
                self.actor(signer),
                Software("KIOSK-TEST", "kiosk", "0.1.0", "TEST-DMP-HOMOLOGATION"),
                patient,
                purpose,
                emergency,
            ),
            clock=self.clock,
            assertion_id=f"_{uuid7(self.clock)}",
        )
        signed = sign_enveloped(vihf, signer, after=f"{{{NS['saml']}}}Issuer")
        if xades and body.tag == _SUBMISSION and body.find(f".//{{{NS['xop']}}}Include") is None:
            body = sign_submission(body, signer)  # TD2.1 carries its XAdES, as the client's
        return build_envelope(
            body,
            action=action,
            message_id=f"uuid:{message_id or uuid7(self.clock)}",
            headers=[security_header(signed, created=self.clock.now())],
        )


@pytest.fixture
async def desk(pki: TestPki, tmp_path: Path) -> AsyncIterator[Desk]:
    clock = FrozenClock()
    sim = DmpSimulator(
        IssuedBy((pki.ca_certificate,), clock.now), tmp_path / "dmp.sqlite3", clock=clock
    )
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
        yield Desk(sim, SoapClient(http, "http://dmp.test/", "DMP", timeout_s=60), pki, clock)
    sim.close()


def _consent() -> ConsentStatement:
    return ConsentStatement(FrozenClock().now(), creation=True, establishment_access=True)


async def test_creation_then_existence_then_web_account(desk: Desk) -> None:
    before = read_existence_response((await desk.send(ExistenceQuery(PATIENT))).payload)
    assert (before.exists, before.authorization) == (False, AuthorizationStatus.NONE)

    created = read_transaction_response(
        (await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))).payload
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
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    again = read_transaction_response(
        (await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))).payload
    )
    assert (again.ack.accepted, again.ack.code) == (False, "DMP_EXISTANT")
    assert desk.sim.dmp_count() == 1


async def test_lost_response_resent_with_same_message_id_creates_one_dmp(desk: Desk) -> None:
    desk.sim.inject(DmpFault.LOST_RESPONSE)
    request = CreationRequest(PATIENT, TRAITS, _consent())
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
        envelope, action = desk.envelope(CreationRequest(PATIENT, TRAITS, _consent()))
        with pytest.raises(Unavailable):
            await impatient.call(envelope, action=action)
    assert desk.sim.dmp_exists(PATIENT.matricule.value)
    answer = await desk.send(ExistenceQuery(PATIENT))  # the fault was played once only
    assert answer is not None


async def test_state_survives_a_restart(desk: Desk, pki: TestPki, tmp_path: Path) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
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
    envelope, action = desk.envelope(CreationRequest(PATIENT, TRAITS, _consent()))
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


def _submission(entry: str = "e1", doc: str = "0001", **changes: object) -> Submission:
    cda = cda_document(document_extension=f"doc-{doc}")
    document = etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8")
    base = Submission(
        cda=cda,
        document=document,
        entry_uuid=uuid.uuid5(uuid.NAMESPACE_URL, entry),
        submission_uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"ss-{entry}"),
        submission_unique_id=f"1.2.250.1.999.1.2.{uuid.uuid5(uuid.NAMESPACE_URL, entry).int}",
        source_id="1.2.250.1.999.1.3",
        visibility=Visibility(patient=False),
        class_code=CodedValue("10", OID["xds_class"]),
        practice=CodedValue("ETABLISSEMENT", OID["xds_practice"]),
        content_type=CodedValue("04", OID["xds_content_type"]),
        submitted=FrozenClock().now(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def _submit(desk: Desk, submission: Submission) -> tuple[bool, tuple[tuple[str, str], ...]]:
    envelope = desk.wrap(build_submission(submission), XDS["action"], PATIENT)
    answer = await desk.soap.call(envelope, action=XDS["action"])
    return read_registry_response(answer.payload)


async def test_submission_is_stored_once_even_when_resent(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    assert await _submit(desk, _submission()) == (True, ())
    assert await _submit(desk, _submission()) == (True, ())  # resent after a lost answer
    (stored,) = desk.sim.documents.documents_for(PATIENT.matricule.value)
    assert stored.type_code == "11490-0"
    assert Visibility.from_codes(stored.confidentiality) == Visibility(patient=False)
    assert stored.authors == ("899900000001",)


async def test_another_document_with_the_same_unique_id_is_refused(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    await _submit(desk, _submission("e1"))
    ok, errors = await _submit(desk, _submission("e2"))
    assert not ok
    assert errors[0][0] == "XDSDuplicateUniqueIdInRegistry"
    assert len(desk.sim.documents.documents_for(PATIENT.matricule.value)) == 1


async def test_submission_without_a_dmp_is_refused(desk: Desk) -> None:
    ok, errors = await _submit(desk, _submission())
    assert (ok, errors[0][0]) == (False, "XDSUnknownPatientId")


async def test_visibility_change_and_delete_by_the_author_only(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    submission = _submission()
    await _submit(desk, submission)
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
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    for n in range(5):
        assert (await _submit(desk, _submission(f"burst-{n}", doc=f"burst-{n}")))[0]
    with pytest.raises(SoapFault, match="per second"):
        await _submit(desk, _submission("burst-5", doc="burst-5"))
    assert desk.sim.feeding.refusals == 1
    assert desk.sim.feeding.calls[("3750100000", "TEST-DMP-HOMOLOGATION")] == 6
    desk.clock.advance(1.0)
    assert (await _submit(desk, _submission("burst-5", doc="burst-5")))[0]


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
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    hostile = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>'
    ok, errors = await _submit(desk, _submission(document=hostile))
    assert (ok, errors[0][0]) == (False, "XDSRepositoryMetadataError")
    assert desk.sim.documents.documents_for(PATIENT.matricule.value) == []
