"""The DMP management transactions as typed requests and responses (DOMAIN.md §6).

TD0.2 existence + authorization + web account status, TD0.3 authorization, TD1.1
creation (the Vitale traits as read, unchanged, and the consent record), TD1.2
reactivation, TD1.4 closure, TD1.5 patient web account (needs a mobile number or an
e-mail address for the one-time codes). Pure: each request builds to an HL7 v3
message and reads back to the same value, so the client and the simulator share one
definition. Personal values (traits, contacts, credentials) redact themselves in
``repr``. Interaction ids and codes are data (:data:`kiosk.dmp.vocabulary.TD`).

Payload shapes, checked against the HL7 v3 NE2008 schemas of ``../shared/schemas``
(README "DMP messages and simulator"):

* **Requests carry a** ``registrationRequest`` (classCode ``REG``, moodCode ``RQO``),
  not a ``registrationEvent`` (verify). PRPA_IN201311UV02 (Add Request) and
  PRPA_IN201314UV02 (Revise Request) have no public schema; their NE2008 siblings
  PRPA_IN201301UV02/201302UV02 share the wrapper and the payload types
  (PRPA_MT201301UV02/201302UV02) but are *notifications* of a registry that already
  registered the record: their control act (MFMI_MT700701UV01) holds a
  ``registrationEvent`` in mood ``EVN`` with a mandatory ``custodian``, the registry
  itself. A request names no custodian, and NE2008 models the request act as
  ``registrationRequest``/``RQO`` (MFMI_MT700711UV01 refers to it through
  ``inFulfillmentOf``); the public DMP clients generated from the DMP's WSDL send
  ``RegistrationRequest``/``RQO`` too. The conformance tests validate requests against
  the siblings after renaming the act and adding the custodian the notification needs.
* **TD1.1** sends the patient's ``providerOrganization`` (required by
  PRPA_MT201301UV02): the creating establishment, by its national structure id, with
  an empty ``contactParty`` (the schema requires one; what the DMP expects in it: verify).
* **TD0.3, TD1.2, TD1.4, TD1.5** carry a ``patientPerson`` whose ``name`` is
  ``nullFlavor="NI"``: PRPA_MT201302UV02 requires a person and a name, and the DMP
  knows the patient by the INS (verify).
* The **TD0.2 answer** (PRPA_IN201308UV02, no public schema) follows its sibling
  PRPA_IN201310UV02: ``registrationEvent`` (EVN) with the DMP as ``custodian``, the
  patient with ``patientPerson``; the web account status is an ``attentionLine`` like
  the authorization, since that payload has no ``subjectOf`` (verify).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.hl7v3 import (
    V3,
    Acknowledgement,
    MessageHeader,
    ValueType,
    build_message,
    child,
    observation,
    read_acknowledgement,
    read_attention,
    read_header,
    read_observations,
)
from kiosk.dmp.vocabulary import HL7V3, OID, TD
from kiosk.domain.consent import ConsentRecord
from kiosk.domain.ins import Ins
from kiosk.errors import IdentityError
from kiosk.locale import msg

__all__ = [
    "AuthorizationRequest",
    "AuthorizationStatus",
    "ClosureRequest",
    "ConsentStatement",
    "CreationRequest",
    "DmpState",
    "ExistenceQuery",
    "ExistenceResponse",
    "ReactivationRequest",
    "Request",
    "TransactionResponse",
    "VitaleTraits",
    "WebAccountRequest",
    "WebCredentials",
    "build_existence_response",
    "build_request",
    "build_transaction_response",
    "normalise_mobile",
    "read_existence_response",
    "read_request",
    "read_transaction_response",
]

_MOBILE = re.compile(r"^(?:(?:\+33|0)[67][0-9]{8}|\+(?:262|269|590|594|596)[0-9]{9})$")
"""A French mobile: ``06…``/``07…``, ``+33 6…``, or an overseas one (Réunion and Mayotte
``+262``/``+269``, Guadeloupe ``+590``, Guyane ``+594``, Martinique ``+596``: nine digits)."""
_SEPARATORS = re.compile(r"[\s.\-()]")


def normalise_mobile(text: str) -> str:
    """A mobile number as typed (spaces, dots, dashes; ``00`` for ``+``) in one compact form."""
    compact = _SEPARATORS.sub("", text)
    return "+" + compact[2:] if compact.startswith("00") else compact


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AuthorizationStatus(StrEnum):
    """This professional's or establishment's authorization on the patient's DMP."""

    VALID = "VALIDE"
    EXPIRED = "EXPIRE"
    FORBIDDEN = "INTERDIT"
    NONE = "NON_EXISTE"


class DmpState(StrEnum):
    """What TD0.2 says of the DMP itself (seed 004; codes: verify, none is public).

    Mon espace santé creates a DMP for everyone who did not oppose it, so a patient at
    the desk has an open one, a closed one (closed at their request; TD1.2 reopens it),
    none because they opposed it (nothing may be created), or none yet.
    """

    OPEN = "ACTIF"
    CLOSED = "FERME"
    OPPOSED = "OPPOSITION"
    NONE = "AUCUN"


@dataclass(frozen=True)
class ExistenceQuery:
    """TD0.2: does the DMP exist, may we access it, is the web account open."""

    patient: Ins


@dataclass(frozen=True)
class AuthorizationRequest:
    """TD0.3: record the authorization the patient just gave."""

    patient: Ins


@dataclass(frozen=True)
class VitaleTraits:
    """The beneficiary as read on the Vitale card, unchanged (birth date may be lunar)."""

    family_name: str
    given_name: str
    birth_date: str
    """``YYYYMMDD`` exactly as on the card: a lunar date (day 31 of February) stays as is."""
    birth_rank: int
    sex: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9]{8}", self.birth_date) or self.sex not in {"F", "M"}:
            raise DmpRequestInvalid(
                msg("dmp.transactions.vitale_traits_post_init"),
                detail="birth date must be 8 digits and sex F or M",
            )

    def __repr__(self) -> str:
        return "VitaleTraits(<redacted>)"


@dataclass(frozen=True)
class ConsentStatement:
    """The consent record sent at creation (DOMAIN.md §1: emergency access default yes)."""

    informed_at: datetime
    creation: bool
    establishment_access: bool
    emergency_access: bool = True
    regulation_centre_access: bool = True

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentStatement:
        """The statement of the domain's consent record; refused without information given."""
        if record.information is None:
            raise DmpRequestInvalid(
                msg("dmp.transactions.consent_statement_of"),
                detail="no information given",
            )
        consent = record.consent
        return cls(
            informed_at=record.information.at,
            creation=consent.creation,
            establishment_access=consent.establishment_access,
            emergency_access=consent.emergency_access,
            regulation_centre_access=consent.regulation_centre_access,
        )


@dataclass(frozen=True)
class CreationRequest:
    """TD1.1: create the DMP of a patient present with the Vitale card, who consented."""

    patient: Ins
    traits: VitaleTraits
    consent: ConsentStatement

    def __post_init__(self) -> None:
        if not self.consent.creation:
            raise DmpRequestInvalid(
                msg("dmp.transactions.creation_request_post_init"),
                detail="consent.creation is false",
            )


@dataclass(frozen=True)
class ReactivationRequest:
    """TD1.2: reopen a closed DMP."""

    patient: Ins


@dataclass(frozen=True)
class ClosureRequest:
    """TD1.4: close the DMP, with the reason given."""

    patient: Ins
    reason: str


@dataclass(frozen=True)
class WebAccountRequest:
    """TD1.5: open the patient's web account; one-time codes go to a mobile or an e-mail."""

    patient: Ins
    mobile: str = field(default="", repr=False)
    email: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mobile", normalise_mobile(self.mobile))
        object.__setattr__(self, "email", self.email.strip())
        if not self.mobile and not self.email:
            raise DmpRequestInvalid(
                msg("dmp.transactions.web_account_request_post_init"),
                detail="no contact",
            )
        if self.mobile and not _MOBILE.match(self.mobile):
            raise DmpRequestInvalid(
                msg("dmp.transactions.web_account_request_post_init_2"), detail="mobile"
            )
        if self.email and not _EMAIL.match(self.email):
            raise DmpRequestInvalid(
                msg("dmp.transactions.web_account_request_post_init_3"), detail="email"
            )


Request = (
    ExistenceQuery
    | AuthorizationRequest
    | CreationRequest
    | ReactivationRequest
    | ClosureRequest
    | WebAccountRequest
)

_TRANSACTION: dict[type, str] = {
    ExistenceQuery: "TD0.2",
    AuthorizationRequest: "TD0.3",
    CreationRequest: "TD1.1",
    ReactivationRequest: "TD1.2",
    ClosureRequest: "TD1.4",
    WebAccountRequest: "TD1.5",
}


@dataclass(frozen=True)
class WebCredentials:
    """The web account identifier and temporary password, printed only on request."""

    identifier: str
    temporary_password: str

    def __repr__(self) -> str:
        return "WebCredentials(<redacted>)"


@dataclass(frozen=True)
class ExistenceResponse:
    """TD0.2 answer: existence, authorization (with the reason of a refusal), web account."""

    ack: Acknowledgement
    exists: bool
    authorization: AuthorizationStatus
    refusal_reason: str = ""
    web_account_open: bool | None = None
    state: DmpState | None = None
    """Closed, opposed, open or none; None reads as open when ``exists``, else none."""

    @property
    def dmp_state(self) -> DmpState:
        """The state, with an answer that names none read as ``exists`` says."""
        if self.state is not None:
            return self.state
        return DmpState.OPEN if self.exists else DmpState.NONE


@dataclass(frozen=True)
class TransactionResponse:
    """Answer of TD0.3/TD1.x: accepted or not; credentials after TD1.1 or TD1.5."""

    ack: Acknowledgement
    credentials: WebCredentials | None = None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _patient(
    control: etree._Element, patient: Ins, act: str = "registrationRequest"
) -> etree._Element:
    event = child(child(control, "subject", typeCode="SUBJ"), act)
    event.set("classCode", "REG")
    event.set("moodCode", "RQO" if act == "registrationRequest" else "EVN")
    child(event, "statusCode", code="active")
    element = child(child(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    child(element, "id", root=patient.oid, extension=patient.matricule.value)
    child(element, "statusCode", code="active")
    return element


def _unnamed_person(patient: etree._Element) -> etree._Element:
    person = child(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    child(person, "name", nullFlavor="NI")
    return person


def _provider_organization(patient: etree._Element, structure_id: str) -> None:
    organization = child(
        patient, "providerOrganization", classCode="ORG", determinerCode="INSTANCE"
    )
    child(organization, "id", root=OID["structure"], extension=structure_id)
    child(organization, "contactParty", classCode="CON")


def build_request(
    request: Request, header: MessageHeader, *, structure_id: str = ""
) -> etree._Element:
    """The HL7 v3 message of ``request``; TD1.1 needs the creating ``structure_id``."""
    interaction, reason = TD[_TRANSACTION[type(request)]]
    root, control = build_message(interaction, header, reason=reason)
    assert control is not None
    if isinstance(request, ExistenceQuery):
        query = child(control, "queryByParameter")
        child(query, "queryId", root=f"{header.sender_oid}.2", extension=header.message_id)
        child(query, "statusCode", code="new")
        identifier = child(child(query, "parameterList"), "patientIdentifier")
        child(
            identifier, "value", root=request.patient.oid, extension=request.patient.matricule.value
        )
        child(identifier, "semanticsText", "Patient.id")
        return root
    patient = _patient(control, request.patient)
    if isinstance(request, CreationRequest):
        if not structure_id:
            raise DmpRequestInvalid(
                msg("dmp.transactions.creation_request_post_init"),
                detail="TD1.1 without the creating structure",
            )
        traits, consent = request.traits, request.consent
        person = child(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
        name = child(person, "name")
        child(name, "family", traits.family_name)
        child(name, "given", traits.given_name)
        child(
            person, "administrativeGenderCode", code=traits.sex, codeSystem=HL7V3["gender_system"]
        )
        child(person, "birthTime", value=traits.birth_date)
        _provider_organization(patient, structure_id)
        observation(patient, HL7V3["obs_birth_rank"], "INT", str(traits.birth_rank))
        informed = consent.informed_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        observation(patient, HL7V3["obs_information_date"], "TS", informed)
        observation(patient, HL7V3["obs_consent_creation"], "BL", _bool(consent.creation))
        observation(
            patient, HL7V3["obs_establishment_access"], "BL", _bool(consent.establishment_access)
        )
        observation(patient, HL7V3["obs_emergency_access"], "BL", _bool(consent.emergency_access))
        observation(
            patient, HL7V3["obs_regulation_access"], "BL", _bool(consent.regulation_centre_access)
        )
        return root
    person = _unnamed_person(patient)
    if isinstance(request, WebAccountRequest):
        if request.mobile:
            child(person, "telecom", value=f"tel:{request.mobile}", use="MC")
        if request.email:
            child(person, "telecom", value=f"mailto:{request.email}")
    elif isinstance(request, ClosureRequest):
        observation(patient, HL7V3["obs_closure_reason"], "ST", request.reason)
    return root


def _invalid(detail: str) -> DmpMessageInvalid:
    return DmpMessageInvalid(msg("dmp.transactions.invalid"), detail=detail)


def read_request(message: etree._Element) -> tuple[MessageHeader, Request]:
    """The header and typed request of an HL7 v3 message (what the simulator receives)."""
    interaction, header, reason = read_header(message)
    transaction = next((k for k, v in TD.items() if v == (interaction, reason)), None)
    if transaction is None:
        raise _invalid(f"unknown interaction {interaction}/{reason}")
    try:
        if transaction == "TD0.2":
            value = message.find(
                f"{V3}controlActProcess/{V3}queryByParameter/{V3}parameterList"
                f"/{V3}patientIdentifier/{V3}value"
            )
            if value is None:
                raise _invalid("no patient identifier")
            return header, ExistenceQuery(Ins.of(value.get("extension", ""), value.get("root", "")))
        patient_el = message.find(
            f"{V3}controlActProcess/{V3}subject/{V3}registrationRequest/{V3}subject1/{V3}patient"
        )
        ident = patient_el.find(f"{V3}id") if patient_el is not None else None
        if patient_el is None or ident is None:
            raise _invalid("no patient")
        patient = Ins.of(ident.get("extension", ""), ident.get("root", ""))
        observations = read_observations(patient_el)
        person = patient_el.find(f"{V3}patientPerson")
        request: Request
        if transaction == "TD0.3":
            request = AuthorizationRequest(patient)
        elif transaction == "TD1.2":
            request = ReactivationRequest(patient)
        elif transaction == "TD1.4":
            request = ClosureRequest(patient, observations.get(HL7V3["obs_closure_reason"], ""))
        elif transaction == "TD1.5":
            telecoms = (
                [t.get("value", "") for t in person.iterfind(f"{V3}telecom")]
                if person is not None
                else []
            )
            mobile = next((t[4:] for t in telecoms if t.startswith("tel:")), "")
            email = next((t[7:] for t in telecoms if t.startswith("mailto:")), "")
            request = WebAccountRequest(patient, mobile=mobile, email=email)
        else:
            if patient_el.find(f"{V3}providerOrganization/{V3}id") is None:
                raise _invalid("TD1.1 without providerOrganization")
            request = _read_creation(patient, person, observations)
    except (DmpRequestInvalid, IdentityError, ValueError) as exc:
        raise _invalid(f"{transaction}: {type(exc).__name__}") from exc
    return header, request


def _read_creation(
    patient: Ins, person: etree._Element | None, observations: dict[str, str]
) -> CreationRequest:
    if person is None:
        raise _invalid("TD1.1 without patientPerson")
    gender = person.find(f"{V3}administrativeGenderCode")
    birth = person.find(f"{V3}birthTime")
    traits = VitaleTraits(
        family_name=person.findtext(f"{V3}name/{V3}family", ""),
        given_name=person.findtext(f"{V3}name/{V3}given", ""),
        birth_date=birth.get("value", "") if birth is not None else "",
        birth_rank=int(observations.get(HL7V3["obs_birth_rank"], "1")),
        sex=gender.get("code", "") if gender is not None else "",
    )
    informed = datetime.strptime(
        observations.get(HL7V3["obs_information_date"], ""), "%Y%m%d%H%M%S"
    )
    consent = ConsentStatement(
        informed_at=informed.replace(tzinfo=UTC),
        creation=observations.get(HL7V3["obs_consent_creation"]) == "true",
        establishment_access=observations.get(HL7V3["obs_establishment_access"]) == "true",
        emergency_access=observations.get(HL7V3["obs_emergency_access"]) == "true",
        regulation_centre_access=observations.get(HL7V3["obs_regulation_access"]) == "true",
    )
    return CreationRequest(patient, traits, consent)


def build_existence_response(
    header: MessageHeader, response: ExistenceResponse, patient: Ins
) -> etree._Element:
    """PRPA_IN201308UV02 answering a TD0.2 query (the simulator's side)."""
    lines: list[tuple[str, ValueType, str]] = [
        (HL7V3["kw_authorization"], "CD", response.authorization.value)
    ]
    if response.refusal_reason:
        lines.append((HL7V3["kw_refusal_reason"], "CD", response.refusal_reason))
    if response.exists and response.web_account_open is not None:
        lines.append((HL7V3["obs_web_account"], "BL", _bool(response.web_account_open)))
    if response.dmp_state in (DmpState.CLOSED, DmpState.OPPOSED):
        lines.append((HL7V3["kw_dmp_state"], "CD", response.dmp_state.value))
    root, control = build_message(
        HL7V3["query_response"], header, ack=response.ack, attention=tuple(lines)
    )
    assert control is not None
    if response.exists:
        element = _patient(control, patient, "registrationEvent")
        _unnamed_person(element)
        event = control.find(f"{V3}subject/{V3}registrationEvent")
        assert event is not None
        custodian = child(event, "custodian", typeCode="CST")
        entity = child(custodian, "assignedEntity", classCode="ASSIGNED")
        child(entity, "id", root=header.sender_oid)
    query_ack = child(control, "queryAck")
    found = HL7V3["query_found"] if response.exists else HL7V3["query_not_found"]
    child(query_ack, "queryResponseCode", code=found)
    return root


def read_existence_response(message: etree._Element) -> ExistenceResponse:
    """The TD0.2 answer as a typed value."""
    ack = read_acknowledgement(message)
    code = message.find(f"{V3}controlActProcess/{V3}queryAck/{V3}queryResponseCode")
    lines = read_attention(message)
    try:
        authorization = AuthorizationStatus(lines.get(HL7V3["kw_authorization"], "NON_EXISTE"))
    except ValueError as exc:
        raise _invalid("authorization status") from exc
    web = lines.get(HL7V3["obs_web_account"])
    stated = lines.get(HL7V3["kw_dmp_state"])
    try:
        state = None if stated is None else DmpState(stated)
    except ValueError as exc:
        raise _invalid("DMP state") from exc
    return ExistenceResponse(
        ack=ack,
        exists=code is not None and code.get("code") == HL7V3["query_found"],
        authorization=authorization,
        refusal_reason=lines.get(HL7V3["kw_refusal_reason"], ""),
        web_account_open=None if web is None else web == "true",
        state=state,
    )


def build_transaction_response(
    header: MessageHeader, response: TransactionResponse
) -> etree._Element:
    """MCCI_IN000002UV01 acknowledging a TD0.3/TD1.x request, with credentials if any."""
    lines: tuple[tuple[str, ValueType, str], ...] = ()
    if response.credentials is not None:
        lines = (
            (HL7V3["kw_web_identifier"], "ST", response.credentials.identifier),
            (HL7V3["kw_web_password"], "ST", response.credentials.temporary_password),
        )
    root, _ = build_message(
        HL7V3["ack_response"], header, ack=response.ack, attention=lines, control_act=False
    )
    return root


def read_transaction_response(message: etree._Element) -> TransactionResponse:
    """The acknowledgement of a TD0.3/TD1.x request, and the credentials it carries."""
    ack = read_acknowledgement(message)
    lines = read_attention(message)
    identifier = lines.get(HL7V3["kw_web_identifier"], "")
    password = lines.get(HL7V3["kw_web_password"], "")
    credentials = WebCredentials(identifier, password) if identifier and password else None
    return TransactionResponse(ack=ack, credentials=credentials)
