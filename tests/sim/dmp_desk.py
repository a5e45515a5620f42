"""A kiosk desk talking to a fresh DMP simulator: builds, signs and sends each transaction.

``tests/sim/conftest.py`` binds the ``pki`` and ``desk`` fixtures for the simulator tests;
the benchmarks build a ``Desk`` themselves. The patient and her traits are the fictitious
ones of DOMAIN.md §7, under the INS test OID.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from lxml import etree

from kiosk.clock import FrozenClock, uuid7
from kiosk.dmp.cda import build_cda
from kiosk.dmp.hl7v3 import MessageHeader
from kiosk.dmp.transactions import ConsentStatement, Request, build_request
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
from kiosk.dmp.vocabulary import NS, OID, XDS, CodedValue
from kiosk.dmp.xades import sign_submission
from kiosk.dmp.xds import Submission, build_submission, read_registry_response
from kiosk.domain.ins import Ins
from kiosk.domain.visibility import Visibility
from kiosk.signing import Signer
from kiosk.sim.dmp.service import DMP_ACTION_PREFIX, DmpSimulator
from kiosk.sim.pki import TestPki, ensure_test_pki
from kiosk.sim.world import bind
from kiosk.soap.envelope import Envelope, build_envelope
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy, security_header, sign_enveloped
from tests.dmp.samples import PATIENT, VITALE_TRAITS, cda_document

__all__ = [
    "PATIENT",
    "TRAITS",
    "Desk",
    "desk",
    "full_consent",
    "pki",
    "sample_submission",
    "served",
    "submit",
]

TRAITS = VITALE_TRAITS  # as the card gives them; the simulator tests say TRAITS


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A test PKI of this test module's own."""
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
        body = build_request(request, header, structure_id="3750100000")
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
    """A desk on a fresh simulator, its database in this test's directory."""
    clock = FrozenClock()
    sim = DmpSimulator(
        IssuedBy((pki.ca_certificate,), clock.now), tmp_path / "dmp.sqlite3", clock=clock
    )
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
        yield Desk(sim, SoapClient(http, "http://dmp.test/", "DMP", timeout_s=60), pki, clock)
    sim.close()


def full_consent() -> ConsentStatement:
    """Informed, creation, establishment access: what most tests need before a write."""
    return ConsentStatement(FrozenClock().now(), creation=True, establishment_access=True)


def sample_submission(entry: str = "e1", doc: str = "0001", **changes: object) -> Submission:
    """TD2.1 of a discharge letter; ``entry`` and ``doc`` vary its ids, ``changes`` override."""
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


async def submit(desk: Desk, submission: Submission) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Send ``submission`` for PATIENT as the doctor: accepted, and the registry's errors."""
    envelope = desk.wrap(build_submission(submission), XDS["action"], PATIENT)
    answer = await desk.soap.call(envelope, action=XDS["action"])
    return read_registry_response(answer.payload)


@contextlib.asynccontextmanager
async def served(sim: DmpSimulator) -> AsyncIterator[str]:
    """``sim`` on a real socket (an ephemeral port) for as long as the block runs; its URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(sim.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        await task
        sock.close()
