"""The VIHF: the SAML 2.0 assertion (VIHF 3.0) that says who calls the DMP, for whom, and why.

Pure: builds and reads lxml trees, no I/O. The assertion is built unsigned, once per
call and never stored (DOMAIN.md §6: a VIHF is short-lived, so the outbox keeps the
business action, not the token); ``soap/wssec.py`` signs it through the Signer port
with the signature key (the DMP refuses one signed with the authentication key).

One rule set serves both sides: :func:`read_vihf` parses an assertion and lists what
is missing or inconsistent, the simulator answers with those problems, and
:func:`build_vihf` runs the same reader on what it built and refuses to hand out an
assertion the service would refuse (specialty missing for a doctor, an incomplete
« bris de glace »...). Names, OIDs and codes come from :mod:`kiosk.dmp.vocabulary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from cryptography import x509
from lxml import etree

from kiosk.clock import Clock
from kiosk.dmp.cx import parse_cx
from kiosk.dmp.errors import DmpRequestInvalid
from kiosk.dmp.vocabulary import (
    ATTR,
    AUTHN_CONTEXT,
    NS,
    OID,
    PURPOSE_OF_USE_SYSTEM,
    SPECIALTY_REQUIRED_PROFESSIONS,
    VIHF_VERSION,
    CodedValue,
)
from kiosk.domain.ins import Ins
from kiosk.errors import IdentityError
from kiosk.locale import msg

__all__ = [
    "DEFAULT_LIFETIME_S",
    "Actor",
    "AuthMode",
    "EmergencyAccess",
    "Problem",
    "PurposeOfUse",
    "Software",
    "VihfReading",
    "VihfRequest",
    "build_vihf",
    "issuer_of",
    "read_vihf",
]

DEFAULT_LIFETIME_S = 300
"""Five minutes: long enough for one call on a loaded service, short enough to be useless later."""

_ISSUER_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
_NAMEID_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
_RESOURCE_URN = "urn:dmp"
_SAML = f"{{{NS['saml']}}}"
_HL7 = f"{{{NS['hl7']}}}"
_XSI_TYPE = f"{{{NS['xsi']}}}type"


class AuthMode(StrEnum):
    """Direct (the professional's own card) or indirect (the establishment's certificate)."""

    DIRECT = "DIRECTE"
    INDIRECT = "INDIRECTE"


class PurposeOfUse(StrEnum):
    """Access mode: normal, regulation centre (``urgence``), emergency (``brisDeGlace``)."""

    NORMAL = "normal"
    REGULATION = "urgence"
    BREAK_GLASS = "brisDeGlace"


@dataclass(frozen=True)
class EmergencyAccess:
    """What « bris de glace » requires: a justification and the patient as declared."""

    justification: str
    family_name: str
    given_name: str
    birth_date: date

    def __repr__(self) -> str:
        return "EmergencyAccess(<redacted>)"


@dataclass(frozen=True)
class Software:
    """The LPS identity: installation id, name, version, DMP homologation number."""

    lps_id: str
    name: str
    version: str
    homologation: str


@dataclass(frozen=True)
class Actor:
    """Who calls: the signing certificate's subject, the user's national id, role and structure."""

    issuer: str
    """Subject DN of the certificate that signs the assertion (RFC 4514)."""
    national_id: str
    """``8``+RPPS, or ``3``+structure-based id for establishment staff."""
    display_name: str
    """Name (and service) of the user, for ``subject-id``."""
    structure_id: str
    sector: str
    """R02 activity sector code (``SA01`` public hospital)."""
    profession: CodedValue
    specialty: CodedValue | None
    mode: AuthMode


@dataclass(frozen=True)
class VihfRequest:
    """Everything one assertion states."""

    actor: Actor
    software: Software
    patient: Ins
    purpose: PurposeOfUse = PurposeOfUse.NORMAL
    emergency: EmergencyAccess | None = None
    lifetime_s: int = DEFAULT_LIFETIME_S


@dataclass(frozen=True)
class Problem:
    """One reason an assertion is unacceptable: a stable code and the attribute concerned."""

    code: str
    attribute: str = ""


@dataclass(frozen=True)
class VihfReading:
    """What an assertion says, read leniently, with the list of what is wrong with it."""

    assertion_id: str
    issuer: str
    national_id: str
    not_before: datetime | None
    not_on_or_after: datetime | None
    attributes: dict[str, tuple[str, ...]] = field(repr=False)
    """Plain-text attributes by name (the patient's name lives here: not in repr)."""
    roles: tuple[CodedValue, ...]
    purpose: str
    patient: Ins | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing is missing or inconsistent."""
        return not self.problems

    def first(self, name: str) -> str:
        """The first value of attribute ``name`` ('' when absent)."""
        values = self.attributes.get(name, ())
        return values[0] if values else ""

    @property
    def auth_mode(self) -> str:
        """``DIRECTE`` or ``INDIRECTE`` as stated ('' when absent)."""
        return self.first(ATTR["auth_mode"])

    @property
    def structure_id(self) -> str:
        """``Identifiant_Structure`` as stated."""
        return self.first(ATTR["structure"])


def issuer_of(certificate: x509.Certificate) -> str:
    """The VIHF issuer: the subject DN (RFC 4514) of the certificate that signs it."""
    return certificate.subject.rfc4514_string()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _attribute(statement: etree._Element, name: str, *values: str) -> None:
    attribute = _sub(statement, f"{_SAML}Attribute", Name=name)
    for value in values:
        _sub(attribute, f"{_SAML}AttributeValue", value)


def _coded_attribute(
    statement: etree._Element, name: str, element: str, values: list[CodedValue]
) -> None:
    attribute = _sub(statement, f"{_SAML}Attribute", Name=name)
    for value in values:
        holder = _sub(attribute, f"{_SAML}AttributeValue")
        coded = etree.SubElement(holder, f"{_HL7}{element}", nsmap={None: NS["hl7"]})  # type: ignore[dict-item]
        coded.set(_XSI_TYPE, "CE")
        coded.set("code", value.code)
        coded.set("codeSystem", value.code_system)
        if value.display_name:
            coded.set("displayName", value.display_name)


_PURPOSE_LABELS = {
    PurposeOfUse.NORMAL: "Accès normal",
    PurposeOfUse.REGULATION: "Accès en mode centre de régulation",
    PurposeOfUse.BREAK_GLASS: "Accès en mode bris de glace",
}


def build_vihf(request: VihfRequest, *, clock: Clock, assertion_id: str) -> etree._Element:
    """The unsigned assertion for ``request``, valid from now for ``lifetime_s``."""
    now = clock.now()
    actor, software = request.actor, request.software
    root = etree.Element(
        f"{_SAML}Assertion",
        {"ID": assertion_id, "IssueInstant": _stamp(now), "Version": "2.0"},
        nsmap={"saml": NS["saml"], "xsi": NS["xsi"]},
    )
    _sub(root, f"{_SAML}Issuer", actor.issuer, Format=_ISSUER_FORMAT)
    subject = _sub(root, f"{_SAML}Subject")
    _sub(subject, f"{_SAML}NameID", actor.national_id, Format=_NAMEID_FORMAT)
    _sub(
        root,
        f"{_SAML}Conditions",
        NotBefore=_stamp(now),
        NotOnOrAfter=_stamp(now + timedelta(seconds=request.lifetime_s)),
    )
    authn = _sub(root, f"{_SAML}AuthnStatement", AuthnInstant=_stamp(now))
    context = _sub(authn, f"{_SAML}AuthnContext")
    _sub(context, f"{_SAML}AuthnContextClassRef", AUTHN_CONTEXT[actor.mode.value])

    statement = _sub(root, f"{_SAML}AttributeStatement")
    _attribute(statement, ATTR["version"], VIHF_VERSION)
    _attribute(statement, ATTR["auth_mode"], actor.mode.value)
    _attribute(statement, ATTR["structure"], actor.structure_id)
    _attribute(statement, ATTR["sector"], f"{actor.sector}^{OID['r02_sector']}")
    _attribute(statement, ATTR["subject_id"], actor.display_name)
    roles = [actor.profession] + ([actor.specialty] if actor.specialty else [])
    _coded_attribute(statement, ATTR["role"], "Role", roles)
    _attribute(statement, ATTR["resource_id"], request.patient.hl7_cx())
    _attribute(statement, ATTR["resource_urn"], _RESOURCE_URN)
    purpose = CodedValue(
        request.purpose.value, PURPOSE_OF_USE_SYSTEM, _PURPOSE_LABELS[request.purpose]
    )
    _coded_attribute(statement, ATTR["purpose"], "PurposeOfUse", [purpose])
    if request.emergency is not None:
        emergency = request.emergency
        _attribute(statement, ATTR["emergency_reason"], emergency.justification)
        _attribute(statement, ATTR["patient_family_name"], emergency.family_name)
        _attribute(statement, ATTR["patient_given_name"], emergency.given_name)
        _attribute(statement, ATTR["patient_birth_date"], emergency.birth_date.strftime("%Y%m%d"))
    _attribute(statement, ATTR["lps_id"], software.lps_id)
    _attribute(statement, ATTR["lps_name"], software.name)
    _attribute(statement, ATTR["lps_version"], software.version)
    _attribute(statement, ATTR["lps_homologation"], software.homologation)

    problems = read_vihf(root).problems
    if problems:
        listing = ", ".join(f"{p.code}:{p.attribute}" if p.attribute else p.code for p in problems)
        raise DmpRequestInvalid(
            msg("dmp.vihf.build_vihf", listing=listing),
            detail=listing,
        )
    return root


_REQUIRED = (
    "version",
    "auth_mode",
    "structure",
    "sector",
    "subject_id",
    "resource_id",
    "resource_urn",
    "lps_name",
    "lps_version",
    "lps_homologation",
)
_EMERGENCY = ("emergency_reason", "patient_family_name", "patient_given_name", "patient_birth_date")


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _coded(holder: etree._Element) -> CodedValue | None:
    for child in holder:
        if isinstance(child.tag, str) and child.get("code"):
            return CodedValue(
                child.get("code", ""), child.get("codeSystem", ""), child.get("displayName", "")
            )
    return None


def read_vihf(
    assertion: etree._Element,
    *,
    now: datetime | None = None,
    card_structure_id: str | None = None,
    allowed_oids: frozenset[str] | None = None,
    skew_s: int = 30,
) -> VihfReading:
    """Read an assertion and list its problems; time checked when ``now`` is given.

    ``card_structure_id`` is the structure of the signing card: in direct mode the
    asserted structure must be the card's. ``allowed_oids`` restricts the patient's INS
    authority (a test service accepts the test OID only, DOMAIN.md §2).
    """
    problems: list[Problem] = []
    if assertion.tag != f"{_SAML}Assertion":
        problems.append(Problem("not_an_assertion"))
    attributes: dict[str, tuple[str, ...]] = {}
    coded: dict[str, tuple[CodedValue, ...]] = {}
    for attribute in assertion.iterfind(f"{_SAML}AttributeStatement/{_SAML}Attribute"):
        name = attribute.get("Name", "")
        holders = attribute.findall(f"{_SAML}AttributeValue")
        values = tuple(c for c in (_coded(h) for h in holders) if c is not None)
        if values:
            coded[name] = coded.get(name, ()) + values
        else:
            texts = tuple((h.text or "").strip() for h in holders)
            attributes[name] = attributes.get(name, ()) + texts

    def text(key: str) -> str:
        values = attributes.get(ATTR[key], ())
        return values[0] if values else ""

    for key in _REQUIRED:
        if not text(key):
            problems.append(Problem("missing", ATTR[key]))
    issuer = (assertion.findtext(f"{_SAML}Issuer") or "").strip()
    national_id = (assertion.findtext(f"{_SAML}Subject/{_SAML}NameID") or "").strip()
    if not issuer:
        problems.append(Problem("missing", "Issuer"))
    if not national_id:
        problems.append(Problem("missing", "NameID"))
    if text("version") and text("version") != VIHF_VERSION:
        problems.append(Problem("unsupported_version", ATTR["version"]))
    mode = text("auth_mode")
    if mode and mode not in {m.value for m in AuthMode}:
        problems.append(Problem("invalid", ATTR["auth_mode"]))
    if text("resource_urn") and text("resource_urn") != _RESOURCE_URN:
        problems.append(Problem("invalid", ATTR["resource_urn"]))
    direct = mode == AuthMode.DIRECT and card_structure_id is not None
    if direct and text("structure") != card_structure_id:
        problems.append(Problem("structure_mismatch", ATTR["structure"]))

    patient: Ins | None = None
    if text("resource_id"):
        try:
            patient = parse_cx(text("resource_id"))
        except IdentityError:
            problems.append(Problem("invalid", ATTR["resource_id"]))
    if patient is not None and allowed_oids is not None and patient.oid not in allowed_oids:
        problems.append(Problem("oid_refused", ATTR["resource_id"]))

    roles = coded.get(ATTR["role"], ())
    profession = next((r for r in roles if r.code_system == OID["g15_profession"]), None)
    if not roles:
        problems.append(Problem("missing", ATTR["role"]))
    elif (
        profession is not None
        and profession.code in SPECIALTY_REQUIRED_PROFESSIONS
        and not any(r.code_system == OID["r01_specialty"] for r in roles)
    ):
        problems.append(Problem("specialty_missing", ATTR["role"]))

    purposes = coded.get(ATTR["purpose"], ())
    purpose = purposes[0].code if purposes else ""
    if not purpose:
        problems.append(Problem("missing", ATTR["purpose"]))
    elif purpose not in {p.value for p in PurposeOfUse}:
        problems.append(Problem("invalid", ATTR["purpose"]))
    elif purpose == PurposeOfUse.BREAK_GLASS:
        problems.extend(
            Problem("break_glass_incomplete", ATTR[k]) for k in _EMERGENCY if not text(k)
        )

    conditions = assertion.find(f"{_SAML}Conditions")
    not_before = _time(conditions.get("NotBefore") if conditions is not None else None)
    not_after = _time(conditions.get("NotOnOrAfter") if conditions is not None else None)
    if not_before is None or not_after is None:
        problems.append(Problem("missing", "Conditions"))
    elif now is not None:
        if now + timedelta(seconds=skew_s) < not_before:
            problems.append(Problem("not_yet_valid", "Conditions"))
        if now >= not_after:
            problems.append(Problem("expired", "Conditions"))

    return VihfReading(
        assertion_id=assertion.get("ID", ""),
        issuer=issuer,
        national_id=national_id,
        not_before=not_before,
        not_on_or_after=not_after,
        attributes=attributes,
        roles=roles,
        purpose=purpose,
        patient=patient,
        problems=tuple(problems),
    )
