"""DMP messages, client side: VIHF build (and build + sign), CDA build + schema check, XDS, HL7 v3.

Each figure is per message, median and p95 over ``RUNS`` runs after a warm-up. The
VIHF is built for every call (it is never stored), so its cost is paid on each DMP
transaction; signing goes through soap/wssec with the test PKI's in-process signature
key (a SoftHSM2 or card key adds its own signature time, FIELD-NOTES.md). The CDA
carries a 200 KB PDF-like payload, the size of a typical discharge letter. Inputs
are the fictitious patient of the DMP tests (DOMAIN.md §7).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.cda import CdaDocument, DocumentAuthor, build_cda
from kiosk.dmp.hl7v3 import MessageHeader
from kiosk.dmp.transactions import (
    ConsentStatement,
    CreationRequest,
    VitaleTraits,
    build_request,
    read_request,
)
from kiosk.dmp.vihf import Software, VihfRequest, build_vihf, issuer_of
from kiosk.dmp.vocabulary import DOCUMENT_MODELS, INS_TEST_OID, NS, OID, CodedValue
from kiosk.dmp.xds import Submission, build_submission
from kiosk.domain.ins import Ins, StrictTraits
from kiosk.domain.visibility import Visibility
from kiosk.sim.pki import ensure_test_pki
from kiosk.soap.wssec import sign_enveloped
from tests.dmp.samples import DOCTOR

RUNS = 200
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PATIENT = Ins.of("277076322082910", INS_TEST_OID)


def _timed(work: Callable[[], object], runs: int = RUNS) -> dict[str, float]:
    for _ in range(5):
        work()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
        "runs": runs,
    }


def run() -> dict[str, object]:
    clock = FrozenClock(T0)
    with tempfile.TemporaryDirectory() as scratch:
        pki = ensure_test_pki(Path(scratch) / "pki")
        signer = pki.signer_for("doctor")
    actor = dataclasses.replace(DOCTOR, issuer=issuer_of(signer.certificate))
    request = VihfRequest(
        actor, Software("KIOSK-BENCH", "kiosk", "0.1.0", "TEST-DMP-HOMOLOGATION"), PATIENT
    )
    issuer = f"{{{NS['saml']}}}Issuer"

    def vihf() -> etree._Element:
        return build_vihf(request, clock=clock, assertion_id=f"_{uuid.uuid4()}")

    def vihf_signed() -> etree._Element:
        return sign_enveloped(vihf(), signer, after=issuer)

    pdf = b"%PDF-1.7\n" + os.urandom(200 * 1024)
    document = CdaDocument(
        document_root="1.2.250.1.999.1.1",
        document_extension="bench-0001",
        model=DOCUMENT_MODELS["discharge_summary"],
        title="Lettre de liaison à la sortie",
        patient=PATIENT,
        traits=StrictTraits.create("Testeur", "Alice", date(1977, 7, 6), "F", "63220"),
        author=DocumentAuthor(
            "899900000001", "MEDECIN-TEST", "Dominique", actor.profession, "3750100000", "CH demo"
        ),
        created=T0,
        service_start=T0 - timedelta(days=2),
        service_end=T0,
        facility=CodedValue("SA01", OID["r02_sector"]),
        pdf=pdf,
    )
    serialized = etree.tostring(build_cda(document), xml_declaration=True, encoding="UTF-8")
    submission = Submission(
        cda=document,
        document=serialized,
        entry_uuid=uuid.uuid4(),
        submission_uuid=uuid.uuid4(),
        submission_unique_id="1.2.250.1.999.1.2.1",
        source_id="1.2.250.1.999.1.3",
        visibility=Visibility(patient=False),
        class_code=CodedValue("10", OID["xds_class"]),
        practice=CodedValue("ETABLISSEMENT", OID["xds_practice"]),
        content_type=CodedValue("04", OID["xds_content_type"]),
        submitted=T0,
        content_id="doc1@kiosk",
    )
    header = MessageHeader("bench", T0, "1.2.250.1.999.1.4", "kiosk")
    creation = CreationRequest(
        PATIENT,
        VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F"),
        ConsentStatement(T0, creation=True, establishment_access=True),
    )

    def td1_1_round_trip() -> object:
        raw = etree.tostring(build_request(creation, header, structure_id="3750100000"))
        return read_request(etree.fromstring(raw))

    results = {
        "vihf_build": _timed(vihf),
        "vihf_build_sign": _timed(vihf_signed),
        "cda_build_validate_200kb": _timed(lambda: build_cda(document), runs=50),
        "xds_build_mtom": _timed(lambda: build_submission(submission)),
        "td1_1_build_serialize_parse": _timed(td1_1_round_trip),
    }
    return {
        "summary": {name: figures["median_ms"] for name, figures in results.items()},
        "details": results,
    }
