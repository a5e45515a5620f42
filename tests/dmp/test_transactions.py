"""DMP management transactions: golden requests, and what client and simulator read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.hl7v3 import Acknowledgement, AcknowledgementShapeInvalid, MessageHeader
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    AuthorizationStatus,
    ClosureRequest,
    ConsentStatement,
    CreationRequest,
    ExistenceQuery,
    ExistenceResponse,
    ReactivationRequest,
    Request,
    TransactionResponse,
    VitaleTraits,
    WebAccountRequest,
    WebCredentials,
    build_existence_response,
    build_request,
    build_transaction_response,
    read_existence_response,
    read_request,
    read_transaction_response,
)
from kiosk.domain.consent import Consent, ConsentRecord, InformationGiven

from .golden import assert_golden
from .samples import CORSICAN, PATIENT, T0

HEADER = MessageHeader("0190a1b2-0000-7000-8000-0000000000a1", T0, "1.2.250.1.999.1.4", "kiosk")
REPLY = MessageHeader("dmp-reply-1", T0, "1.2.250.1.213.4.1.1.1", "DMP", "1.2.250.1.999.1.4")
STRUCTURE = "3750100000"
TRAITS = VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F")
CONSENT = ConsentStatement(T0, creation=True, establishment_access=True)

REQUESTS: dict[str, Request] = {
    "td0_2_existence": ExistenceQuery(PATIENT),
    "td0_3_authorization": AuthorizationRequest(PATIENT),
    "td1_1_creation": CreationRequest(PATIENT, TRAITS, CONSENT),
    "td1_2_reactivation": ReactivationRequest(PATIENT),
    "td1_4_closure": ClosureRequest(PATIENT, "Demande du patient"),
    "td1_5_web_account": WebAccountRequest(PATIENT, mobile="0612345678"),
}


def _reparse(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_matches_golden_file(name: str) -> None:
    assert_golden(f"{name}.xml", build_request(REQUESTS[name], HEADER, structure_id=STRUCTURE))


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_simulator_reads_back_the_same_request(name: str) -> None:
    header, request = read_request(
        _reparse(build_request(REQUESTS[name], HEADER, structure_id=STRUCTURE))
    )
    assert request == REQUESTS[name]
    assert header == HEADER


def test_creation_without_consent_cannot_be_built() -> None:
    refused = ConsentStatement(T0, creation=False, establishment_access=True)
    with pytest.raises(DmpRequestInvalid, match="did not consent"):
        CreationRequest(PATIENT, TRAITS, refused)


def test_lunar_birth_date_is_sent_unchanged() -> None:
    lunar = VitaleTraits("TESTEUR", "ALICE", "19770231", 2, "F")
    _, request = read_request(
        _reparse(
            build_request(CreationRequest(PATIENT, lunar, CONSENT), HEADER, structure_id=STRUCTURE)
        )
    )
    assert isinstance(request, CreationRequest)
    assert request.traits.birth_date == "19770231"
    assert request.traits.birth_rank == 2


@pytest.mark.parametrize(("mobile", "email"), [("", ""), ("12345", ""), ("", "not-an-address")])
def test_web_account_needs_a_valid_mobile_or_email(mobile: str, email: str) -> None:
    with pytest.raises(DmpRequestInvalid):
        WebAccountRequest(PATIENT, mobile=mobile, email=email)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("07.12.34.56.78", "0712345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("+262 692 12 34 56", "+262692123456"),  # Réunion
        ("+269 639 12 34 56", "+269639123456"),  # Mayotte (historic code)
        ("+590 690 12 34 56", "+590690123456"),  # Guadeloupe
        ("+594 694 12 34 56", "+594694123456"),  # Guyane
        ("+596 696 12 34 56", "+596696123456"),  # Martinique
        ("00262-692-12-34-56", "+262692123456"),
    ],
)
def test_a_mobile_typed_with_separators_or_overseas_is_accepted(typed: str, sent: str) -> None:
    # Issue 16: "overseas numbers such as +262/+590/+596/+594/+269 accepted".
    assert WebAccountRequest(PATIENT, mobile=typed).mobile == sent


@pytest.mark.parametrize("mobile", ["0112345678", "+262 692 12 34", "+1 555 0100", "06123456789"])
def test_a_number_that_is_no_french_mobile_is_refused(mobile: str) -> None:
    with pytest.raises(DmpRequestInvalid):
        WebAccountRequest(PATIENT, mobile=mobile)


def test_existence_answer_round_trip_with_refusal_reason() -> None:
    answer = ExistenceResponse(
        ack=Acknowledgement(True, target_message_id=HEADER.message_id),
        exists=True,
        authorization=AuthorizationStatus.FORBIDDEN,
        refusal_reason="PATIENT_OPPOSITION",
        web_account_open=False,
    )
    element = build_existence_response(REPLY, answer, PATIENT)
    assert_golden("td0_2_existence_response.xml", element)
    assert read_existence_response(_reparse(element)) == answer


def test_unknown_dmp_reads_as_not_existing() -> None:
    answer = ExistenceResponse(
        ack=Acknowledgement(True), exists=False, authorization=AuthorizationStatus.NONE
    )
    read = read_existence_response(_reparse(build_existence_response(REPLY, answer, PATIENT)))
    assert (read.exists, read.authorization, read.web_account_open) == (
        False,
        AuthorizationStatus.NONE,
        None,
    )


def test_web_account_answer_carries_credentials_and_hides_them_in_repr() -> None:
    answer = TransactionResponse(
        Acknowledgement(True, target_message_id="m1"), WebCredentials("DMP-TEST-0001", "Tmp-4821")
    )
    element = build_transaction_response(REPLY, answer)
    assert_golden("td1_5_web_account_response.xml", element)
    read = read_transaction_response(_reparse(element))
    assert read == answer
    assert "Tmp-4821" not in repr(read)


def test_refusal_carries_the_service_code_and_text() -> None:
    refusal = TransactionResponse(
        Acknowledgement(False, "DMP_EXISTANT", "Un DMP existe déjà", "m2")
    )
    read = read_transaction_response(_reparse(build_transaction_response(REPLY, refusal)))
    assert read.ack == refusal.ack
    assert read.credentials is None


def test_creation_names_the_creating_structure_or_is_not_built() -> None:
    built = build_request(REQUESTS["td1_1_creation"], HEADER, structure_id=STRUCTURE)
    organization = built.find(".//{urn:hl7-org:v3}patient/{urn:hl7-org:v3}providerOrganization")
    assert organization is not None
    assert organization.find("{urn:hl7-org:v3}id").get("extension") == STRUCTURE  # type: ignore[union-attr]
    assert organization.find("{urn:hl7-org:v3}contactParty") is not None
    with pytest.raises(DmpRequestInvalid):
        build_request(REQUESTS["td1_1_creation"], HEADER)
    organization.getparent().remove(organization)  # type: ignore[union-attr]
    with pytest.raises(DmpMessageInvalid) as caught:
        read_request(_reparse(built))
    assert "providerOrganization" in caught.value.detail


@pytest.mark.parametrize("name", sorted(set(REQUESTS) - {"td0_2_existence"}))
def test_requests_ask_with_a_registration_request_and_name_a_person(name: str) -> None:
    built = build_request(REQUESTS[name], HEADER, structure_id=STRUCTURE)
    act = built.find("{urn:hl7-org:v3}controlActProcess/{urn:hl7-org:v3}subject/*")
    assert act is not None
    assert (etree.QName(act).localname, act.get("moodCode")) == ("registrationRequest", "RQO")
    person = act.find(
        "{urn:hl7-org:v3}subject1/{urn:hl7-org:v3}patient/{urn:hl7-org:v3}patientPerson"
    )
    assert person is not None
    assert person.find("{urn:hl7-org:v3}name") is not None


def test_an_old_registration_event_request_is_refused() -> None:
    built = build_request(REQUESTS["td0_3_authorization"], HEADER)
    act = built.find("{urn:hl7-org:v3}controlActProcess/{urn:hl7-org:v3}subject/*")
    assert act is not None
    act.tag = "{urn:hl7-org:v3}registrationEvent"
    with pytest.raises(DmpMessageInvalid):
        read_request(_reparse(built))


def test_acknowledgement_type_is_an_element_and_the_attribute_shape_is_refused() -> None:
    element = build_transaction_response(
        REPLY, TransactionResponse(Acknowledgement(True, target_message_id="m1"))
    )
    ack = element.find("{urn:hl7-org:v3}acknowledgement")
    assert ack is not None
    assert ack.get("typeCode") is None
    assert ack.find("{urn:hl7-org:v3}typeCode").get("code") == "AA"  # type: ignore[union-attr]
    assert element.find("{urn:hl7-org:v3}controlActProcess") is None  # MCCI_IN000002UV01
    type_code = ack.find("{urn:hl7-org:v3}typeCode")
    ack.remove(type_code)  # type: ignore[arg-type]
    ack.set("typeCode", "AA")
    with pytest.raises(AcknowledgementShapeInvalid) as caught:
        read_transaction_response(_reparse(element))
    assert "typeCode" in caught.value.message("en")


def test_every_observation_and_attention_value_carries_its_type() -> None:
    built = build_request(REQUESTS["td1_1_creation"], HEADER, structure_id=STRUCTURE)
    answer = ExistenceResponse(
        Acknowledgement(True), exists=True, authorization=AuthorizationStatus.VALID,
        web_account_open=True,
    )  # fmt: skip
    reply = build_existence_response(REPLY, answer, PATIENT)
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    kinds = [v.get(xsi) for m in (built, reply) for v in m.iter("{urn:hl7-org:v3}value")
             if v.getparent().tag != "{urn:hl7-org:v3}patientIdentifier"]  # type: ignore[union-attr]  # fmt: skip
    assert kinds == ["INT", "TS", "BL", "BL", "BL", "BL", "CD", "BL"]
    for value in reply.iter("{urn:hl7-org:v3}value"):
        del value.attrib[xsi]
    with pytest.raises(DmpMessageInvalid):
        read_existence_response(_reparse(reply))


def test_foreign_message_is_refused() -> None:
    with pytest.raises(DmpMessageInvalid):
        read_request(etree.fromstring(b"<PRPA_IN201307UV02/>"))
    other = build_request(ExistenceQuery(PATIENT), HEADER)
    other.find("{urn:hl7-org:v3}controlActProcess/{urn:hl7-org:v3}reasonCode").set("code", "X")  # type: ignore[union-attr]
    with pytest.raises(DmpMessageInvalid) as caught:
        read_request(other)
    assert "unknown interaction" in caught.value.detail


names = st.text(alphabet=st.characters(categories=("Lu",)), min_size=1, max_size=30)


@given(
    family=names,
    given_name=names,
    birth=st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2025, 12, 31).date()),
    rank=st.integers(min_value=1, max_value=9),
    sex=st.sampled_from(["F", "M"]),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    patient=st.sampled_from([PATIENT, CORSICAN]),
)
def test_creation_round_trip(
    family: str,
    given_name: str,
    birth: object,
    rank: int,
    sex: str,
    flags: tuple[bool, bool, bool],
    patient: object,
) -> None:
    traits = VitaleTraits(family, given_name, birth.strftime("%Y%m%d"), rank, sex)  # type: ignore[attr-defined]
    consent = ConsentStatement(
        datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        creation=True,
        establishment_access=flags[0],
        emergency_access=flags[1],
        regulation_centre_access=flags[2],
    )
    request = CreationRequest(patient, traits, consent)  # type: ignore[arg-type]
    assert (
        read_request(_reparse(build_request(request, HEADER, structure_id=STRUCTURE)))[1] == request
    )


@given(
    status=st.sampled_from(list(AuthorizationStatus)),
    exists=st.booleans(),
    web=st.sampled_from([None, True, False]),
)
def test_existence_response_round_trip(
    status: AuthorizationStatus, exists: bool, web: bool | None
) -> None:
    answer = ExistenceResponse(
        Acknowledgement(True, target_message_id="q"),
        exists=exists,
        authorization=status,
        web_account_open=web if exists else None,
    )
    assert (
        read_existence_response(_reparse(build_existence_response(REPLY, answer, PATIENT)))
        == answer
    )


def test_consent_statement_comes_from_the_domain_record() -> None:
    record = ConsentRecord(
        information=InformationGiven(brochure=True, at=T0),
        consent=Consent(
            creation=True,
            establishment_access=True,
            emergency_access=False,
            recorded_at=T0,
            recorded_by="3750100000/0000042",
        ),
    )
    statement = ConsentStatement.of(record)
    assert statement == ConsentStatement(
        T0, creation=True, establishment_access=True, emergency_access=False
    )


def test_consent_without_information_cannot_be_sent() -> None:
    record = ConsentRecord(
        information=None,
        consent=Consent(
            creation=False, establishment_access=False, recorded_at=T0, recorded_by="agent"
        ),
    )
    with pytest.raises(DmpRequestInvalid, match="informed"):
        ConsentStatement.of(record)
