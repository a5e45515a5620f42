"""TD3.3: visibility, archive, delete and wrong-record correction of a stored document."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.attributes import (
    AttributeChange,
    AttributeUpdate,
    build_attribute_update,
    read_attribute_update,
)
from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.domain.visibility import Visibility

from .golden import assert_golden
from .samples import PATIENT

UPDATE = uuid.UUID("0190a1b2-0000-7000-8000-0000000000c1")
ENTRY = "urn:uuid:0190a1b2-0000-7000-8000-0000000000e1"
UNIQUE = "1.2.250.1.999.1.1^0190a1b2-0000-7000-8000-000000000001"


def _update(change: AttributeChange, **kwargs: object) -> AttributeUpdate:
    return AttributeUpdate(UPDATE, PATIENT, ENTRY, UNIQUE, change, **kwargs)  # type: ignore[arg-type]


def _reparse(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


def test_visibility_change_matches_golden_file() -> None:
    update = _update(AttributeChange.VISIBILITY, visibility=Visibility(professionals=False))
    assert_golden("td3_3_visibility.xml", build_attribute_update(update))


def test_wrong_record_correction_matches_golden_file() -> None:
    update = _update(AttributeChange.WRONG_PATIENT, reason="Document d'un autre patient")
    assert_golden("td3_3_wrong_patient.xml", build_attribute_update(update))


@given(seen=st.tuples(st.booleans(), st.booleans(), st.booleans()), version=st.integers(1, 50))
def test_visibility_round_trip(seen: tuple[bool, bool, bool], version: int) -> None:
    update = _update(AttributeChange.VISIBILITY, visibility=Visibility(*seen), version=version)
    summary = read_attribute_update(_reparse(build_attribute_update(update)))
    assert Visibility.from_codes(summary.confidentiality) == Visibility(*seen)
    assert (summary.entry_uuid, summary.unique_id) == (ENTRY, UNIQUE)
    assert summary.previous_version == version
    assert summary.patient == PATIENT


@pytest.mark.parametrize(
    "change",
    [
        AttributeChange.ARCHIVE,
        AttributeChange.UNARCHIVE,
        AttributeChange.DELETE,
        AttributeChange.WRONG_PATIENT,
    ],
)
def test_status_changes_round_trip(change: AttributeChange) -> None:
    update = _update(change, reason="motif" if change is AttributeChange.WRONG_PATIENT else "")
    summary = read_attribute_update(_reparse(build_attribute_update(update)))
    assert (summary.change, summary.entry_uuid, summary.unique_id) == (change, ENTRY, UNIQUE)
    assert summary.confidentiality == ()


def test_wrong_record_needs_a_reason_and_visibility_needs_a_value() -> None:
    with pytest.raises(DmpRequestInvalid):
        _update(AttributeChange.WRONG_PATIENT)
    with pytest.raises(DmpRequestInvalid):
        _update(AttributeChange.VISIBILITY)
    with pytest.raises(DmpRequestInvalid):
        _update(AttributeChange.DELETE, visibility=Visibility())


def test_replay_is_the_same_message() -> None:
    update = _update(AttributeChange.DELETE)
    first = etree.tostring(build_attribute_update(update), method="c14n")
    assert etree.tostring(build_attribute_update(update), method="c14n") == first


def test_foreign_request_is_refused() -> None:
    with pytest.raises(DmpMessageInvalid):
        read_attribute_update(etree.fromstring(b"<SubmitObjectsRequest/>"))
