"""CDA R2 level 1: the CI-SIS header around an unchanged PDF (DOMAIN.md §1 and §6).

Pure: builds and reads lxml trees. The header states the patient by INS (root = the
INS authority OID, extension = the matricule), the authors by national id (RPPS OID)
and structure (structure OID), and the body is the original PDF, base64, in
``nonXMLBody/text``. :func:`validate_cda` checks a document against the schema shipped
in ``kiosk/data/schemas/cda/`` (a minimal restatement of the normative schema for what
the kiosk emits; see the file's header); :func:`read_cda` is what the simulator needs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Protocol

from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.vocabulary import CDA, CONFIDENTIALITY_NORMAL, NS, OID, CodedValue, DocumentModel
from kiosk.domain.ins import Ins
from kiosk.errors import IdentityError
from kiosk.locale import msg

__all__ = [
    "SCHEMA_PATH",
    "CdaDocument",
    "CdaSummary",
    "DocumentAuthor",
    "PatientTraits",
    "build_cda",
    "read_cda",
    "validate_cda",
]

SCHEMA_PATH = Path(__file__).parent.parent / "data" / "schemas" / "cda" / "cda-n1.xsd"
"""The shipped schema every document is checked against before it leaves the kiosk."""

_V3 = f"{{{NS['hl7']}}}"
_PDF_MAGIC = b"%PDF-"
_GENDER_SYSTEM = "2.16.840.1.113883.5.1"


class PatientTraits(Protocol):
    """The strict traits the header states (the domain's ``StrictTraits``)."""

    @property
    def birth_family_name(self) -> str: ...
    @property
    def birth_given_names(self) -> tuple[str, ...]: ...
    @property
    def birth_date(self) -> date: ...
    @property
    def sex(self) -> str: ...


@dataclass(frozen=True)
class DocumentAuthor:
    """The author: national id, name, profession (G15, if any) and structure."""

    national_id: str
    family_name: str
    given_name: str
    profession: CodedValue | None
    structure_id: str
    structure_name: str


@dataclass(frozen=True)
class CdaDocument:
    """What one level-1 document says; ``pdf`` is sent byte for byte."""

    document_root: str
    """OID under which the establishment numbers its documents."""
    document_extension: str
    model: DocumentModel
    title: str
    patient: Ins
    traits: PatientTraits = field(repr=False)
    author: DocumentAuthor
    created: datetime
    service_start: datetime
    service_end: datetime | None
    facility: CodedValue
    """``healthCareFacility/code``: the structure's activity sector (R02)."""
    pdf: bytes = field(repr=False)
    set_extension: str = ""
    version: int = 1


@dataclass(frozen=True)
class CdaSummary:
    """What the simulator reads back from a document."""

    document_id: tuple[str, str]
    type_code: str
    patient: Ins
    author_ids: tuple[str, ...]
    confidentiality: str
    template_ids: tuple[str, ...]
    pdf: bytes = field(repr=False)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S%z")


def _el(
    parent: etree._Element, local: str, text: str | None = None, **attrib: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{_V3}{local}", attrib)
    if text is not None:
        element.text = text
    return element


def _ce(parent: etree._Element, local: str, value: CodedValue) -> None:
    attrib = {"code": value.code, "codeSystem": value.code_system}
    if value.display_name:
        attrib["displayName"] = value.display_name
    _el(parent, local, **attrib)


def _name(parent: etree._Element, family: str, given: tuple[str, ...]) -> None:
    name = _el(parent, "name")
    # CI-SIS: the birth family name carries the qualifier BR (verify).
    _el(name, "family", family, qualifier="BR")
    for part in given:
        _el(name, "given", part)


def _organization(parent: etree._Element, local: str, structure_id: str, label: str) -> None:
    organization = _el(parent, local)
    _el(organization, "id", root=OID["structure"], extension=structure_id)
    _el(organization, "name", label)


def _interval(parent: etree._Element, start: datetime, end: datetime | None) -> None:
    interval = _el(parent, "effectiveTime")
    _el(interval, "low", value=_ts(start))
    if end is not None:
        _el(interval, "high", value=_ts(end))


def build_cda(document: CdaDocument) -> etree._Element:
    """The ClinicalDocument for ``document``, validated against the shipped schema."""
    if not document.pdf.startswith(_PDF_MAGIC):
        raise DmpRequestInvalid(
            msg("dmp.cda.build_cda"),
            detail=f"head={document.pdf[:8]!r}",
        )
    root = etree.Element(
        f"{_V3}ClinicalDocument",
        {"classCode": "DOCCLIN", "moodCode": "EVN"},
        nsmap={None: NS["hl7"], "xsi": NS["xsi"]},  # type: ignore[dict-item]
    )
    _el(root, "realmCode", code=CDA["realm"])
    _el(root, "typeId", root=CDA["type_id_root"], extension=CDA["type_id_extension"])
    templates = (CDA["template_hl7_france"], CDA["template_cisis"], *document.model.template_ids)
    for template in templates:
        _el(root, "templateId", root=template)
    _el(root, "id", root=document.document_root, extension=document.document_extension)
    model = document.model
    _ce(root, "code", CodedValue(model.code, OID["loinc"], model.display_name))
    _el(root, "title", document.title)
    _el(root, "effectiveTime", value=_ts(document.created))
    # Visibility travels in the XDS metadata; the CDA header always says N (DOMAIN.md §6).
    _ce(
        root,
        "confidentialityCode",
        CodedValue(CONFIDENTIALITY_NORMAL, OID["hl7_confidentiality"], "Normal"),
    )
    _el(root, "languageCode", code=CDA["language"])
    set_extension = document.set_extension or document.document_extension
    _el(root, "setId", root=document.document_root, extension=set_extension)
    _el(root, "versionNumber", value=str(document.version))

    role = _el(_el(root, "recordTarget", typeCode="RCT"), "patientRole")
    _el(role, "id", root=document.patient.oid, extension=document.patient.matricule.value)
    person = _el(role, "patient")
    traits = document.traits
    _name(person, traits.birth_family_name, traits.birth_given_names)
    _el(person, "administrativeGenderCode", code=str(traits.sex), codeSystem=_GENDER_SYSTEM)
    _el(person, "birthTime", value=traits.birth_date.strftime("%Y%m%d"))

    author = document.author
    author_el = _el(root, "author", typeCode="AUT")
    _el(author_el, "time", value=_ts(document.created))
    assigned = _el(author_el, "assignedAuthor")
    _el(assigned, "id", root=OID["rpps"], extension=author.national_id)
    if author.profession is not None:
        _ce(assigned, "code", author.profession)
    _name(_el(assigned, "assignedPerson"), author.family_name, (author.given_name,))
    _organization(assigned, "representedOrganization", author.structure_id, author.structure_name)

    custodian = _el(_el(root, "custodian"), "assignedCustodian")
    _organization(
        custodian, "representedCustodianOrganization", author.structure_id, author.structure_name
    )
    event = _el(_el(root, "documentationOf"), "serviceEvent")
    _interval(event, document.service_start, document.service_end)
    encounter = _el(_el(root, "componentOf"), "encompassingEncounter")
    _interval(encounter, document.service_start, document.service_end)
    _ce(_el(_el(encounter, "location"), "healthCareFacility"), "code", document.facility)

    body = _el(_el(root, "component"), "nonXMLBody")
    _el(
        body,
        "text",
        base64.b64encode(document.pdf).decode("ascii"),
        mediaType=CDA["media_type"],
        representation=CDA["representation"],
    )
    validate_cda(root)
    return root


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate_cda(document: etree._Element) -> None:
    """Raise DmpMessageInvalid, naming the first schema error, unless ``document`` is valid."""
    try:
        _schema().assertValid(document)
    except etree.DocumentInvalid as exc:
        raise DmpMessageInvalid(
            msg("dmp.cda.validate_cda"),
            detail=str(exc)[:300],
        ) from exc


def read_cda(document: etree._Element) -> CdaSummary:
    """Schema-check ``document`` and return its identifiers and the PDF it carries."""
    validate_cda(document)

    def attr(path: str, name: str) -> str:
        node = document.find(path, {"v3": NS["hl7"]})
        return node.get(name, "") if node is not None else ""

    patient_id = "v3:recordTarget/v3:patientRole/v3:id"
    try:
        patient = Ins.of(attr(patient_id, "extension"), attr(patient_id, "root"))
        pdf = base64.b64decode(
            document.findtext("v3:component/v3:nonXMLBody/v3:text", "", {"v3": NS["hl7"]}),
            validate=False,
        )
    except (IdentityError, binascii.Error) as exc:
        raise DmpMessageInvalid(
            msg("dmp.cda.read_cda"),
            detail=type(exc).__name__,
        ) from exc
    authors = document.iterfind("v3:author/v3:assignedAuthor/v3:id", {"v3": NS["hl7"]})
    return CdaSummary(
        document_id=(attr("v3:id", "root"), attr("v3:id", "extension")),
        type_code=attr("v3:code", "code"),
        patient=patient,
        author_ids=tuple(a.get("extension", "") for a in authors),
        confidentiality=attr("v3:confidentialityCode", "code"),
        template_ids=tuple(
            t.get("root", "") for t in document.iterfind("v3:templateId", {"v3": NS["hl7"]})
        ),
        pdf=pdf,
    )
