"""TD2.1 as MTOM/XOP: the document travels as a MIME part and is stored byte for byte."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.mtom import optimise
from kiosk.dmp.transactions import ConsentStatement, CreationRequest
from kiosk.dmp.vocabulary import XDS
from kiosk.dmp.xades import sign_submission
from kiosk.dmp.xds import build_submission, read_registry_response
from kiosk.sim.dmp.mtom import MtomInvalid, split_related
from kiosk.soap.envelope import parse_envelope, serialize
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, sample_submission
from tests.sim.dmp_requests import CONTENT_TYPE, multipart


def _signed_parts(desk: Desk) -> tuple[etree._Element, dict[str, bytes]]:
    """The client's TD2.1 as sent: the inline body signed (XAdES), then its documents as parts."""
    return optimise(
        sign_submission(build_submission(sample_submission()), desk.pki.signer_for("doctor"))
    )


async def _post(desk: Desk, body: bytes) -> tuple[int, bytes]:
    answer = await desk.soap.http.post(
        "http://dmp.test/", content=body, headers={"Content-Type": CONTENT_TYPE}
    )
    return answer.status_code, answer.content


async def _created(desk: Desk) -> None:
    consent = ConsentStatement(desk.clock.now(), creation=True, establishment_access=True)
    await desk.send(CreationRequest(PATIENT, TRAITS, consent))


async def test_document_as_an_xop_part_is_stored(desk: Desk) -> None:
    await _created(desk)
    body, parts = _signed_parts(desk)
    envelope = desk.wrap(body, XDS["action"], PATIENT)
    status, content = await _post(desk, multipart(serialize(envelope), parts))
    assert status == 200, content[:300]
    assert read_registry_response(parse_envelope(content).payload) == (True, ())
    (stored,) = desk.sim.documents.documents_for(PATIENT.matricule.value)
    assert stored.unique_id == sample_submission().document_unique_id


async def test_a_part_changed_in_transit_is_refused(desk: Desk) -> None:
    await _created(desk)
    body, parts = _signed_parts(desk)
    envelope = desk.wrap(body, XDS["action"], PATIENT)
    tampered = {cid: data.replace(b"Lettre", b"Lettra") for cid, data in parts.items()}
    status, content = await _post(desk, multipart(serialize(envelope), tampered))
    ok, errors = read_registry_response(parse_envelope(content).payload)
    assert (status, ok, errors[0][0]) == (200, False, "XDSRepositoryMetadataError")
    assert desk.sim.documents.documents_for(PATIENT.matricule.value) == []


async def test_an_include_naming_no_part_is_a_fault(desk: Desk) -> None:
    await _created(desk)
    submission = dataclasses.replace(sample_submission(), content_id="missing@kiosk")
    envelope = desk.wrap(build_submission(submission), XDS["action"], PATIENT)
    status, content = await _post(desk, multipart(serialize(envelope), {}))
    assert status == 400
    assert b"MessageInvalide" in content
    assert b"MTOM" in content
    assert desk.sim.documents.documents_for(PATIENT.matricule.value) == []


@given(st.binary(max_size=300))
def test_split_keeps_every_byte_of_a_part(content: bytes) -> None:
    body = multipart(b"<e/>", {"doc@kiosk": content})
    root, parts = split_related(CONTENT_TYPE, body)
    assert (root, parts) == (b"<e/>", {"doc@kiosk": content})


@given(st.binary(max_size=300), st.data())
def test_a_truncated_body_is_refused_with_the_services_error(
    content: bytes, data: st.DataObject
) -> None:
    body = multipart(b"<e/>", {"doc@kiosk": content})
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 3))
    with pytest.raises(MtomInvalid):
        split_related(CONTENT_TYPE, body[:cut])
