"""XDS.b ITI-41 metadata: what the registry indexes, and the keys that stop duplicates."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.vocabulary import NS, OID, XDS
from kiosk.dmp.xds import (
    build_registry_response,
    build_submission,
    read_registry_response,
    read_submission,
)
from kiosk.domain.visibility import Visibility

from .golden import assert_golden
from .samples import CORSICAN, sample_submission

RIM = f"{{{NS['rim']}}}"


def test_submission_matches_golden_file() -> None:
    assert_golden("xds_provide_and_register.xml", build_submission(sample_submission()))


def test_same_business_action_gives_the_same_message() -> None:
    first = etree.tostring(build_submission(sample_submission()), method="c14n")
    again = etree.tostring(build_submission(sample_submission()), method="c14n")
    assert first == again


def test_reader_returns_keys_visibility_and_document() -> None:
    request = sample_submission()
    summary = read_submission(etree.fromstring(etree.tostring(build_submission(request))))
    assert summary.problems == ()
    assert summary.unique_id == "1.2.250.1.999.1.2.1"
    (entry,) = summary.entries
    assert entry.entry_uuid == f"urn:uuid:{request.entry_uuid}"
    assert entry.unique_id == "1.2.250.1.999.1.1^0190a1b2-0000-7000-8000-000000000001"
    assert entry.patient == "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert entry.confidentiality == (
        ("N", "2.16.840.1.113883.5.25"),
        ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13"),
    )
    assert entry.type_code == "11490-0"
    assert entry.author_ids == ("899900000001",)
    assert entry.document == request.document
    assert entry.size == len(request.document)


def test_mtom_submission_refers_to_the_mime_part() -> None:
    element = build_submission(sample_submission(content_id="doc1@kiosk"))
    include = element.find(f"{{{NS['xds']}}}Document/{{{NS['xop']}}}Include")
    assert include is not None
    assert include.get("href") == "cid:doc1@kiosk"
    (entry,) = read_submission(element).entries
    assert entry.document is None


def test_visibility_without_normal_code_is_refused() -> None:
    @dataclass(frozen=True)
    class Broken:
        def confidentiality_codes(self) -> list[tuple[str, str]]:
            return [("MASQUE_PS", OID["dmp_confidentiality"])]

    with pytest.raises(DmpRequestInvalid):
        build_submission(sample_submission(visibility=Broken()))


def test_entry_for_another_patient_is_reported() -> None:
    element = build_submission(sample_submission())
    scheme = XDS["ss_patient_id"]
    node = element.find(f".//{RIM}ExternalIdentifier[@identificationScheme='{scheme}']")
    assert node is not None
    node.set("value", CORSICAN.hl7_cx())
    assert "XDSPatientIdDoesNotMatch" in read_submission(element).problems


def test_altered_document_is_reported() -> None:
    element = copy.deepcopy(build_submission(sample_submission()))
    body = element.find(f"{{{NS['xds']}}}Document")
    assert body is not None
    body.text = "JVBERi0x"  # another content under the same metadata
    assert "XDSRepositoryMetadataError" in read_submission(element).problems


def test_not_a_submission_is_refused() -> None:
    with pytest.raises(DmpMessageInvalid):
        read_submission(etree.fromstring(b"<Envelope/>"))


@given(
    errors=st.lists(
        st.tuples(
            st.sampled_from(["XDSDuplicateUniqueIdInRegistry", "XDSRegistryError"]),
            st.text(alphabet=st.characters(categories=("L", "N", "Zs")), max_size=30),
        ),
        max_size=3,
    )
)
def test_registry_response_round_trip(errors: list[tuple[str, str]]) -> None:
    raw = etree.tostring(build_registry_response(tuple(errors)))
    ok, read = read_registry_response(etree.fromstring(raw))
    assert ok is (not errors)
    assert read == tuple(errors)


@given(seen=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_every_visibility_combination_round_trips(seen: tuple[bool, bool, bool]) -> None:
    visibility = Visibility(*seen)
    (entry,) = read_submission(build_submission(sample_submission(visibility=visibility))).entries
    assert Visibility.from_codes(entry.confidentiality) == visibility
