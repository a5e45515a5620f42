"""CDA R2 level 1: the header the DMP indexes and the PDF the patient reads, unchanged."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.cda import build_cda, read_cda, validate_cda
from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.vocabulary import INS_TEST_OID, NS

from .golden import assert_golden
from .samples import PATIENT, PDF, cda_document

V3 = {"v3": NS["hl7"]}


def test_discharge_letter_matches_golden_file() -> None:
    assert_golden("cda_discharge_summary.xml", build_cda(cda_document()))


def test_header_carries_the_ci_sis_constants_and_identifiers() -> None:
    document = build_cda(cda_document())
    assert document.find("v3:realmCode", V3).get("code") == "FR"  # type: ignore[union-attr]
    assert [t.get("root") for t in document.iterfind("v3:templateId", V3)][:2] == [
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
    ]
    patient_id = document.find("v3:recordTarget/v3:patientRole/v3:id", V3)
    assert patient_id is not None
    assert (patient_id.get("root"), patient_id.get("extension")) == (
        INS_TEST_OID,
        "277076322082910",
    )
    author_id = document.find("v3:author/v3:assignedAuthor/v3:id", V3)
    assert author_id is not None
    assert author_id.get("root") == "1.2.250.1.71.4.2.1"
    text = document.find("v3:component/v3:nonXMLBody/v3:text", V3)
    assert text is not None
    assert (text.get("mediaType"), text.get("representation")) == ("application/pdf", "B64")


def test_reader_gives_back_the_pdf_byte_for_byte() -> None:
    raw = etree.tostring(build_cda(cda_document()))
    summary = read_cda(etree.fromstring(raw))
    assert summary.pdf == PDF
    assert summary.patient == PATIENT
    assert summary.type_code == "11490-0"
    assert summary.author_ids == ("899900000001",)
    assert summary.confidentiality == "N"


def test_a_file_that_is_not_a_pdf_is_refused() -> None:
    with pytest.raises(DmpRequestInvalid, match="not a PDF"):
        build_cda(cda_document(pdf=b"<html>report</html>"))


@pytest.mark.parametrize("removed", ["recordTarget", "author", "component", "languageCode"])
def test_schema_rejects_a_header_missing_a_required_part(removed: str) -> None:
    document = copy.deepcopy(build_cda(cda_document()))
    node = document.find(f"v3:{removed}", V3)
    assert node is not None
    document.remove(node)
    with pytest.raises(DmpMessageInvalid) as caught:
        validate_cda(document)
    assert removed in caught.value.detail or "Missing" in caught.value.detail


def test_schema_rejects_a_foreign_realm() -> None:
    document = build_cda(cda_document())
    document.find("v3:realmCode", V3).set("code", "US")  # type: ignore[union-attr]
    with pytest.raises(DmpMessageInvalid):
        read_cda(document)


@given(payload=st.binary(max_size=4096))
def test_any_pdf_payload_survives_the_round_trip(payload: bytes) -> None:
    pdf = b"%PDF-1.7\n" + payload
    raw = etree.tostring(build_cda(cda_document(pdf=pdf)))
    assert read_cda(etree.fromstring(raw)).pdf == pdf
