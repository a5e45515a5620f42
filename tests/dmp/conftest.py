"""Fictitious people and a frozen clock for the DMP messages; golden-file comparison."""

from __future__ import annotations

import copy
import dataclasses
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.cda import CdaDocument, DocumentAuthor
from kiosk.dmp.vihf import Actor, AuthMode, EmergencyAccess, Software
from kiosk.dmp.vocabulary import DOCUMENT_MODELS, INS_TEST_OID, OID, CodedValue
from kiosk.domain.ins import Ins, StrictTraits

VECTORS = Path(__file__).parent.parent / "vectors" / "dmp"
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


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def canonical(element: etree._Element) -> str:
    """Indented C14N 2.0 text of ``element``: stable across builds, readable in a diff."""
    tree = copy.deepcopy(element)
    etree.indent(tree, space="  ")
    return etree.tostring(tree, method="c14n2").decode("utf-8") + "\n"


def assert_golden(name: str, element: etree._Element) -> None:
    """Compare with ``tests/vectors/dmp/<name>``; ``KIOSK_REGEN_VECTORS=1`` rewrites it."""
    path = VECTORS / name
    text = canonical(element)
    if os.environ.get("KIOSK_REGEN_VECTORS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


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
