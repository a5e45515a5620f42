"""Reading a TD3.1 answer: what the desk may rely on, and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid
from kiosk.dmp.query import build_find_documents, read_find_documents
from kiosk.dmp.vocabulary import NS, XDS

from .samples import PATIENT

_Q = f"{{{XDS['query_ns']}}}"
_RIM = f"{{{NS['rim']}}}"


def _answer(status: str, *entries: tuple[str, str]) -> etree._Element:
    root = etree.Element(f"{_Q}AdhocQueryResponse", status=status)
    objects = etree.SubElement(root, f"{_RIM}RegistryObjectList")
    for entry, unique_id in entries:
        extrinsic = etree.SubElement(objects, f"{_RIM}ExtrinsicObject", id=entry)
        if unique_id:
            etree.SubElement(
                extrinsic,
                f"{_RIM}ExternalIdentifier",
                identificationScheme=XDS["de_unique_id"],
                value=unique_id,
            )
    return root


def test_the_request_names_the_patient_and_both_statuses() -> None:
    values = [v.text or "" for v in build_find_documents(PATIENT).iter(f"{_RIM}Value")]
    assert values[0] == f"'{PATIENT.hl7_cx()}'"
    assert "StatusType:Approved" in values[1]
    assert "StatusType:Deprecated" in values[1]


def test_a_failure_answer_is_refused_with_its_codes() -> None:
    failed = _answer(XDS["failure"])
    error = etree.SubElement(
        etree.SubElement(failed, f"{{{NS['rs']}}}RegistryErrorList"),
        f"{{{NS['rs']}}}RegistryError",
        errorCode="XDSPatientIdDoesNotMatch",
    )
    assert error is not None
    with pytest.raises(DmpMessageInvalid) as refused:
        read_find_documents(failed)
    assert "XDSPatientIdDoesNotMatch" in str(refused.value.detail)


def test_another_answer_is_refused() -> None:
    with pytest.raises(DmpMessageInvalid):
        read_find_documents(etree.Element(f"{{{NS['rs']}}}RegistryResponse"))


@given(st.lists(st.text(alphabet="0123456789.^abcdef-", min_size=1, max_size=40), max_size=5))
def test_every_entry_comes_back_with_its_unique_id(unique_ids: list[str]) -> None:
    entries = [(f"urn:uuid:{i}", u) for i, u in enumerate(unique_ids)]
    found = read_find_documents(_answer(XDS["success"], *entries))
    assert [d.unique_id for d in found] == unique_ids


def test_an_entry_without_its_unique_id_is_refused() -> None:
    with pytest.raises(DmpMessageInvalid):
        read_find_documents(_answer(XDS["success"], ("urn:uuid:1", "")))
