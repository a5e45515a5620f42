"""Fictitious people, actors and requests the DMP tests send (DOMAIN.md §7: test OID)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta

from lxml import etree

from kiosk.dmp.attributes import AttributeChange, AttributeUpdate
from kiosk.dmp.cda import CdaDocument, DocumentAuthor, build_cda
from kiosk.dmp.transactions import ConsentStatement, CreationRequest, VitaleTraits
from kiosk.dmp.vihf import Actor, AuthMode, EmergencyAccess, Software
from kiosk.dmp.vocabulary import DOCUMENT_MODELS, INS_TEST_OID, OID, CodedValue
from kiosk.dmp.xds import Submission
from kiosk.domain.ins import Ins, StrictTraits
from kiosk.domain.visibility import Visibility
from kiosk.sim.pki import professional

__all__ = [
    "AGENT",
    "AUTHOR",
    "CORSICAN",
    "DOCTOR",
    "DOCTOR_ACTOR",
    "DOCTOR_CARD",
    "DOCUMENT_ROOT",
    "EMERGENCY",
    "PATIENT",
    "PDF",
    "SENDER_OID",
    "SOFTWARE",
    "T0",
    "TRAITS",
    "UPDATE",
    "VITALE_TRAITS",
    "cda_document",
    "creation",
    "sample_submission",
]

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

# Fictitious patient under the INS test OID; NIR vector of DOMAIN.md §7 (valid key).
PATIENT = Ins.of("277076322082910", INS_TEST_OID)
CORSICAN = Ins.of("253072B07300470", INS_TEST_OID)

DOCTOR = Actor(
    issuer="CN=899900000001,SN=MEDECIN-TEST,GN=Dominique,title=10,OU=3750100000,C=FR",
    national_id="899900000001",
    display_name="MEDECIN-TEST Dominique",
    structure_id="3750100000",
    sector="SA01",
    profession=CodedValue("10", OID["g15_profession"], "Médecin"),
    specialty=CodedValue("SM26", OID["r01_specialty"], "Qualifié en médecine générale"),
    mode=AuthMode.DIRECT,
)
AGENT = Actor(
    issuer="CN=ORG_SIGN,OU=3750100000,O=Centre hospitalier de démonstration,ST=Paris (75),C=FR",
    national_id="3750100000/0000042",
    display_name="ACCUEIL-TEST Camille, Admissions",
    structure_id="3750100000",
    sector="SA01",
    profession=CodedValue("ADM", "1.2.250.1.213.1.1.4.6", "Personnel administratif"),
    specialty=None,
    mode=AuthMode.INDIRECT,
)
SOFTWARE = Software("KIOSK-DEMO-0001", "kiosk", "0.1.0", "TEST-DMP-HOMOLOGATION")
EMERGENCY = EmergencyAccess(
    "Patient inconscient aux urgences", "TESTEUR", "ALICE", date(1977, 7, 6)
)

# The doctor's card of the test PKI, as the direct-mode actor of a VIHF.
DOCTOR_CARD = professional("doctor")
DOCTOR_ACTOR = Actor(
    issuer="",
    national_id=DOCTOR_CARD.national_id,
    display_name=DOCTOR_CARD.display_name,
    structure_id=DOCTOR_CARD.structure_id,
    sector="SA01",
    profession=CodedValue("10", OID["g15_profession"], "Médecin"),
    specialty=CodedValue("SM26", OID["r01_specialty"]),
    mode=AuthMode.DIRECT,
)

SENDER_OID = "1.2.250.1.999.1.4"  # fictitious OID arc of the demo installation
VITALE_TRAITS = VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F")
TRAITS = StrictTraits.create("Testeur", "Alice Marie", date(1977, 7, 6), "F", "63220")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
AUTHOR = DocumentAuthor(
    national_id="899900000001",
    family_name="MEDECIN-TEST",
    given_name="Dominique",
    profession=CodedValue("10", OID["g15_profession"], "Médecin"),
    structure_id="3750100000",
    structure_name="Centre hospitalier de démonstration",
)
DOCUMENT_ROOT = "1.2.250.1.999.1.1"  # fictitious OID arc of the demo establishment

# TD3.3 on the document of sample_submission(): hidden from professionals.
UPDATE = AttributeUpdate(
    uuid.UUID("0190a1b2-0000-7000-8000-0000000000c1"),
    PATIENT,
    "urn:uuid:0190a1b2-0000-7000-8000-0000000000e1",
    "1.2.250.1.999.1.1^0190a1b2-0000-7000-8000-000000000001",
    AttributeChange.VISIBILITY,
    visibility=Visibility(professionals=False),
)


def creation(patient: Ins = PATIENT) -> CreationRequest:
    """A creation with consent: informed, creation, establishment access, emergency default."""
    consent = ConsentStatement(T0, creation=True, establishment_access=True)
    return CreationRequest(patient, VITALE_TRAITS, consent)


def cda_document(**changes: object) -> CdaDocument:
    """A discharge letter for the fictitious patient; ``changes`` override fields."""
    base = CdaDocument(
        document_root=DOCUMENT_ROOT,
        document_extension="0190a1b2-0000-7000-8000-000000000001",
        model=DOCUMENT_MODELS["discharge_summary"],
        title="Lettre de liaison à la sortie",
        patient=PATIENT,
        traits=TRAITS,
        author=AUTHOR,
        created=T0,
        service_start=T0 - timedelta(days=2),
        service_end=T0,
        facility=CodedValue("SA01", OID["r02_sector"], "Établissement public de santé"),
        pdf=PDF,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def sample_submission(**changes: object) -> Submission:
    """TD2.1 of ``cda_document()``, hidden from the patient; ``changes`` override fields."""
    cda = cda_document()
    base = Submission(
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
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
