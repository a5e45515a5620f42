"""TD3.1 search (ITI-18) and TD3.2 retrieval (ITI-43): what was stored, as callers may see it."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from lxml import etree

from kiosk.clock import uuid7
from kiosk.dmp.attributes import AttributeChange, AttributeUpdate, build_attribute_update
from kiosk.dmp.transactions import ConsentStatement, CreationRequest
from kiosk.dmp.vihf import EmergencyAccess, PurposeOfUse
from kiosk.dmp.vocabulary import NS
from kiosk.dmp.xds import read_registry_response
from kiosk.domain.visibility import Visibility
from kiosk.errors import SoapFault
from kiosk.signing import Signer
from kiosk.sim.dmp.queries import QUERY_TRANSACTIONS
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, sample_submission, submit
from tests.sim.dmp_requests import find_request, retrieve_request

EMERGENCY = EmergencyAccess(
    "Patient inconscient aux urgences", "TESTEUR", "ALICE", date(1977, 7, 6)
)
_RIM = f"{{{NS['rim']}}}"
_XDS = f"{{{NS['xds']}}}"


async def _call(
    desk: Desk,
    body: etree._Element,
    *,
    signer: Signer | None = None,
    purpose: PurposeOfUse = PurposeOfUse.NORMAL,
    emergency: EmergencyAccess | None = None,
) -> etree._Element:
    action = QUERY_TRANSACTIONS[body.tag][0]
    envelope = desk.wrap(body, action, PATIENT, signer=signer, purpose=purpose, emergency=emergency)
    return (await desk.soap.call(envelope, action=action)).payload


def _found(answer: etree._Element) -> list[str]:
    path = f"{_RIM}RegistryObjectList/{_RIM}ExtrinsicObject/{_RIM}ExternalIdentifier"
    return [e.get("value", "") for e in answer.iterfind(path)]


async def _stored(desk: Desk, *, establishment_access: bool = True) -> tuple[str, str]:
    consent = ConsentStatement(
        desk.clock.now(), creation=True, establishment_access=establishment_access
    )
    await desk.send(CreationRequest(PATIENT, TRAITS, consent), signer=desk.pki.signer_for("agent"))
    first, hidden = sample_submission("q1", doc="q1"), sample_submission("q2", doc="q2")
    assert (await submit(desk, first))[0]
    assert (await submit(desk, hidden))[0]
    update = AttributeUpdate(
        uuid7(desk.clock),
        PATIENT,
        f"urn:uuid:{hidden.entry_uuid}",
        hidden.document_unique_id,
        AttributeChange.VISIBILITY,
        visibility=Visibility(professionals=False),
    )
    action = "urn:ihe:iti:2010:UpdateDocumentSet"
    envelope = desk.wrap(build_attribute_update(update), action, PATIENT)
    assert read_registry_response((await desk.soap.call(envelope, action=action)).payload)[0]
    return first.document_unique_id, hidden.document_unique_id


async def test_the_author_finds_and_retrieves_what_was_stored(desk: Desk) -> None:
    first, hidden = await _stored(desk)
    assert _found(await _call(desk, find_request())) == [first, hidden]
    answer = await _call(desk, retrieve_request(first))
    assert read_registry_response(answer[0]) == (True, ())
    document = base64.b64decode(answer.findtext(f"{_XDS}DocumentResponse/{_XDS}Document") or "")
    assert document == sample_submission("q1", doc="q1").document  # byte for byte as submitted
    transactions = [t.transaction for t in desk.sim.traces(PATIENT.matricule.value)][-2:]
    assert transactions == ["TD3.1", "TD3.2"]


async def test_a_document_hidden_from_professionals_is_for_its_author_only(desk: Desk) -> None:
    first, hidden = await _stored(desk)
    nurse = desk.pki.signer_for("nurse")
    assert _found(await _call(desk, find_request(), signer=nurse)) == [first]
    answer = await _call(desk, retrieve_request(hidden), signer=nurse)
    assert read_registry_response(answer[0])[1][0][0] == "XDSDocumentUniqueIdError"


async def test_admission_staff_never_consult(desk: Desk) -> None:
    await _stored(desk)
    for owner in ("agent", "establishment"):
        with pytest.raises(SoapFault, match=r"TD3\.1"):
            await _call(desk, find_request(), signer=desk.pki.signer_for(owner))


async def test_without_authorization_only_an_emergency_mode_consults(desk: Desk) -> None:
    first, _hidden = await _stored(desk, establishment_access=False)
    with pytest.raises(SoapFault, match="not authorized"):
        await _call(desk, find_request())
    answer = await _call(
        desk, find_request(), purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY
    )
    assert first in _found(answer)
    last = desk.sim.traces(PATIENT.matricule.value)[-1]
    assert (last.transaction, last.purpose, last.justification) == (
        "TD3.1",
        "brisDeGlace",
        EMERGENCY.justification,
    )
