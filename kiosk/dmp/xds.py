"""IHE XDS.b ITI-41 metadata: one submission set holding one document entry (TD2.1).

Pure: builds and reads ebRIM 3.0 trees. The document's ``uniqueId`` (the CDA id,
``root^extension``) and ``entryUUID`` are the natural idempotency keys: the DMP
refuses a second document with the same uniqueId (DOMAIN.md §6), so a resent outbox
item can never store a document twice. Visibility is stated as confidentiality codes:
``N`` plus any of ``MASQUE_PS``, ``INVISIBLE_PATIENT``,
``INVISIBLE_REPRESENTANTS_LEGAUX``, as the domain's ``Visibility`` renders them.

Ids of the classifications, external identifiers and the association are derived
(UUIDv5) from the entry and submission UUIDs, so one business action always yields
the same message, byte for byte. Scheme UUIDs come from IHE ITI TF-3 §4.2.5
(:data:`kiosk.dmp.vocabulary.XDS`).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from kiosk.dmp.cda import CdaDocument
from kiosk.dmp.cx import parse_cx
from kiosk.dmp.errors import DmpMessageInvalid, DmpRequestInvalid
from kiosk.dmp.vocabulary import CDA, CONFIDENTIALITY_NORMAL, NS, OID, XDS, CodedValue
from kiosk.errors import IdentityError
from kiosk.locale import msg

__all__ = [
    "EntrySummary",
    "Submission",
    "SubmissionSummary",
    "VisibilitySource",
    "build_registry_response",
    "build_submission",
    "read_registry_response",
    "read_submission",
]

_RIM = f"{{{NS['rim']}}}"
_LCM = f"{{{NS['lcm']}}}"
_RS = f"{{{NS['rs']}}}"
_XDS = f"{{{NS['xds']}}}"
_NORMAL = (CONFIDENTIALITY_NORMAL, OID["hl7_confidentiality"])
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class VisibilitySource(Protocol):
    """The domain's ``Visibility``: its confidentiality codes as (code, code system)."""

    def confidentiality_codes(self) -> list[tuple[str, str]]:
        """``N`` first, then one DMP code per hidden population."""
        ...


@dataclass(frozen=True)
class Submission:
    """One document and its metadata, as the outbox replays it."""

    cda: CdaDocument
    document: bytes = field(repr=False)
    """The serialized CDA, exactly as it will be stored (its SHA-1 and size go in)."""
    entry_uuid: uuid.UUID
    submission_uuid: uuid.UUID
    submission_unique_id: str
    source_id: str
    """OID of this installation (``sourceId``)."""
    visibility: VisibilitySource
    class_code: CodedValue
    practice: CodedValue
    content_type: CodedValue
    submitted: datetime
    content_id: str = ""
    """With MTOM, the MIME part id: the body then holds an ``xop:Include``."""

    @property
    def document_unique_id(self) -> str:
        """``root^extension`` of the CDA id: the DMP's duplicate key."""
        return f"{self.cda.document_root}^{self.cda.document_extension}"


@dataclass(frozen=True)
class EntrySummary:
    """What the simulator needs from a document entry."""

    entry_uuid: str
    unique_id: str
    patient: str = field(repr=False)
    confidentiality: tuple[tuple[str, str], ...]
    type_code: str
    class_code: str
    format_code: str
    author_ids: tuple[str, ...]
    hash: str
    size: int
    document: bytes | None = field(repr=False)


@dataclass(frozen=True)
class SubmissionSummary:
    """A provide-and-register request as read, and what is wrong with it (XDS error codes)."""

    unique_id: str
    source_id: str
    patient: str = field(repr=False)
    entries: tuple[EntrySummary, ...]
    problems: tuple[str, ...]


def _ts(moment: datetime) -> str:
    # XDS DTM is always UTC (ITI TF-3 §4.2.3.1.7).
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _id(base: uuid.UUID, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(base, name)}"


def _slot(parent: etree._Element, name: str, *values: str) -> None:
    slot = etree.SubElement(parent, f"{_RIM}Slot", name=name)
    value_list = etree.SubElement(slot, f"{_RIM}ValueList")
    for value in values:
        etree.SubElement(value_list, f"{_RIM}Value").text = value


def _name(parent: etree._Element, text: str) -> None:
    name = etree.SubElement(parent, f"{_RIM}Name")
    localized = etree.SubElement(name, f"{_RIM}LocalizedString", value=text, charset="UTF-8")
    localized.set(_XML_LANG, CDA["language"])


def _classify(
    parent: etree._Element, scheme: str, target: str, ident: str, value: CodedValue
) -> None:
    node = etree.SubElement(
        parent,
        f"{_RIM}Classification",
        classificationScheme=XDS[scheme],
        classifiedObject=target,
        id=ident,
        nodeRepresentation=value.code,
        objectType=XDS["classification_type"],
    )
    _slot(node, "codingScheme", value.code_system)
    _name(node, value.display_name or value.code)


def _external(
    parent: etree._Element, scheme: str, target: str, ident: str, value: str, label: str
) -> None:
    node = etree.SubElement(
        parent,
        f"{_RIM}ExternalIdentifier",
        id=ident,
        identificationScheme=XDS[scheme],
        objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier",
        registryObject=target,
        value=value,
    )
    _name(node, label)


def _author(parent: etree._Element, scheme: str, target: str, ident: str, cda: CdaDocument) -> None:
    author = cda.author
    node = etree.SubElement(
        parent,
        f"{_RIM}Classification",
        classificationScheme=XDS[scheme],
        classifiedObject=target,
        id=ident,
        nodeRepresentation="",
        objectType=XDS["classification_type"],
    )
    person = (
        f"{author.national_id}^{author.family_name}^{author.given_name}"
        f"^^^^^^&{OID['rpps']}&ISO^D^^^IDNPS"
    )
    institution = (
        f"{author.structure_name}^^^^^&{OID['structure']}&ISO^IDNST^^^{author.structure_id}"
    )
    _slot(node, "authorInstitution", institution)
    _slot(node, "authorPerson", person)
    if author.profession is not None:
        p = author.profession
        _slot(node, "authorSpecialty", f"{p.code}^{p.display_name}^{p.code_system}")


def build_submission(request: Submission) -> etree._Element:
    """The ``ProvideAndRegisterDocumentSetRequest`` for one document."""
    codes = request.visibility.confidentiality_codes()
    if not codes or codes[0] != _NORMAL:
        raise DmpRequestInvalid(
            msg("dmp.xds.build_submission"),
            detail="confidentiality codes must start with N",
        )
    cda, patient = request.cda, request.cda.patient
    entry = f"urn:uuid:{request.entry_uuid}"
    package = f"urn:uuid:{request.submission_uuid}"
    base_e, base_s = request.entry_uuid, request.submission_uuid

    root = etree.Element(
        f"{_XDS}ProvideAndRegisterDocumentSetRequest",
        nsmap={"xds": NS["xds"], "lcm": NS["lcm"], "rim": NS["rim"], "xop": NS["xop"]},
    )
    submit = etree.SubElement(root, f"{_LCM}SubmitObjectsRequest")
    objects = etree.SubElement(submit, f"{_RIM}RegistryObjectList")

    extrinsic = etree.SubElement(
        objects,
        f"{_RIM}ExtrinsicObject",
        id=entry,
        mimeType="text/xml",
        objectType=XDS["stable_entry"],
    )
    _slot(extrinsic, "creationTime", _ts(cda.created))
    _slot(extrinsic, "hash", hashlib.sha1(request.document, usedforsecurity=False).hexdigest())
    _slot(extrinsic, "languageCode", CDA["language"])
    _slot(extrinsic, "serviceStartTime", _ts(cda.service_start))
    if cda.service_end is not None:
        _slot(extrinsic, "serviceStopTime", _ts(cda.service_end))
    _slot(extrinsic, "size", str(len(request.document)))
    _slot(extrinsic, "sourcePatientId", patient.hl7_cx())
    traits = cda.traits
    _slot(
        extrinsic,
        "sourcePatientInfo",
        f"PID-5|{traits.birth_family_name}^{' '.join(traits.birth_given_names)}^^^^^L",
        f"PID-7|{traits.birth_date.strftime('%Y%m%d')}",
        f"PID-8|{traits.sex}",
    )
    _name(extrinsic, cda.title)
    _author(extrinsic, "de_author", entry, _id(base_e, "author"), cda)
    _classify(extrinsic, "de_class", entry, _id(base_e, "class"), request.class_code)
    for code, system in codes:
        ident = _id(base_e, f"confidentiality:{code}")
        _classify(extrinsic, "de_confidentiality", entry, ident, CodedValue(code, system))
    fmt = CodedValue(cda.model.format_code, OID["xds_format"])
    _classify(extrinsic, "de_format", entry, _id(base_e, "format"), fmt)
    _classify(extrinsic, "de_facility", entry, _id(base_e, "facility"), cda.facility)
    _classify(extrinsic, "de_practice", entry, _id(base_e, "practice"), request.practice)
    doc_type = CodedValue(cda.model.code, OID["loinc"], cda.model.display_name)
    _classify(extrinsic, "de_type", entry, _id(base_e, "type"), doc_type)
    cx = patient.hl7_cx()
    _external(
        extrinsic, "de_patient_id", entry, _id(base_e, "pid"), cx, "XDSDocumentEntry.patientId"
    )
    _external(
        extrinsic,
        "de_unique_id",
        entry,
        _id(base_e, "uid"),
        request.document_unique_id,
        "XDSDocumentEntry.uniqueId",
    )

    registry_package = etree.SubElement(objects, f"{_RIM}RegistryPackage", id=package)
    _slot(registry_package, "submissionTime", _ts(request.submitted))
    _name(registry_package, cda.title)
    _author(registry_package, "ss_author", package, _id(base_s, "author"), cda)
    content = request.content_type
    _classify(registry_package, "ss_content_type", package, _id(base_s, "content"), content)
    _external(
        registry_package,
        "ss_unique_id",
        package,
        _id(base_s, "uid"),
        request.submission_unique_id,
        "XDSSubmissionSet.uniqueId",
    )
    _external(
        registry_package,
        "ss_source_id",
        package,
        _id(base_s, "source"),
        request.source_id,
        "XDSSubmissionSet.sourceId",
    )
    _external(
        registry_package,
        "ss_patient_id",
        package,
        _id(base_s, "pid"),
        cx,
        "XDSSubmissionSet.patientId",
    )
    etree.SubElement(
        objects,
        f"{_RIM}Classification",
        classificationNode=XDS["submission_set_node"],
        classifiedObject=package,
        id=_id(base_s, "node"),
        objectType=XDS["classification_type"],
    )
    association = etree.SubElement(
        objects,
        f"{_RIM}Association",
        associationType=XDS["has_member"],
        id=_id(base_s, "member"),
        objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association",
        sourceObject=package,
        targetObject=entry,
    )
    _slot(association, "SubmissionSetStatus", "Original")

    document = etree.SubElement(root, f"{_XDS}Document", id=entry)
    if request.content_id:
        etree.SubElement(document, f"{{{NS['xop']}}}Include", href=f"cid:{request.content_id}")
    else:
        document.text = base64.b64encode(request.document).decode("ascii")
    return root


def _slot_values(node: etree._Element, name: str) -> tuple[str, ...]:
    path = f"{_RIM}Slot[@name='{name}']/{_RIM}ValueList/{_RIM}Value"
    return tuple((v.text or "").strip() for v in node.iterfind(path))


def _externals(node: etree._Element, scheme: str) -> str:
    found = node.find(f"{_RIM}ExternalIdentifier[@identificationScheme='{XDS[scheme]}']")
    return found.get("value", "") if found is not None else ""


def _codes(node: etree._Element, scheme: str) -> tuple[tuple[str, str], ...]:
    path = f"{_RIM}Classification[@classificationScheme='{XDS[scheme]}']"
    return tuple(
        (c.get("nodeRepresentation", ""), (_slot_values(c, "codingScheme") or ("",))[0])
        for c in node.iterfind(path)
    )


def _entry(node: etree._Element, documents: dict[str, etree._Element]) -> EntrySummary:
    ident = node.get("id", "")
    authors = node.iterfind(f"{_RIM}Classification[@classificationScheme='{XDS['de_author']}']")
    author_ids = tuple(
        person.split("^", 1)[0] for a in authors for person in _slot_values(a, "authorPerson")
    )
    body = documents.get(ident)
    content: bytes | None = None
    if body is not None and body.text and body.text.strip():
        content = base64.b64decode(body.text)
    size = (_slot_values(node, "size") or ("",))[0]

    def first(scheme: str) -> str:
        values = _codes(node, scheme)
        return values[0][0] if values else ""

    return EntrySummary(
        entry_uuid=ident,
        unique_id=_externals(node, "de_unique_id"),
        patient=_externals(node, "de_patient_id"),
        confidentiality=_codes(node, "de_confidentiality"),
        type_code=first("de_type"),
        class_code=first("de_class"),
        format_code=first("de_format"),
        author_ids=author_ids,
        hash=(_slot_values(node, "hash") or ("",))[0],
        size=int(size) if size.isdigit() else -1,
        document=content,
    )


def read_submission(request: etree._Element) -> SubmissionSummary:
    """Read a provide-and-register request; ``problems`` holds XDS error codes."""
    if request.tag != f"{_XDS}ProvideAndRegisterDocumentSetRequest":
        raise DmpMessageInvalid(
            msg("dmp.xds.read_submission"),
            detail=f"root={request.tag}",
        )
    objects = request.find(f"{_LCM}SubmitObjectsRequest/{_RIM}RegistryObjectList")
    package = objects.find(f"{_RIM}RegistryPackage") if objects is not None else None
    if objects is None or package is None:
        raise DmpMessageInvalid(
            msg("dmp.xds.read_submission_2"),
            detail="no RegistryPackage",
        )
    documents = {d.get("id", ""): d for d in request.iterfind(f"{_XDS}Document")}
    entries = tuple(_entry(n, documents) for n in objects.iterfind(f"{_RIM}ExtrinsicObject"))
    patient = _externals(package, "ss_patient_id")
    problems: list[str] = []
    if not entries or not _externals(package, "ss_unique_id") or not patient:
        problems.append("XDSRegistryMetadataError")
    for entry in entries:
        if (
            not entry.unique_id
            or (CONFIDENTIALITY_NORMAL, OID["hl7_confidentiality"]) not in entry.confidentiality
        ):
            problems.append("XDSRegistryMetadataError")
        if entry.patient != patient:
            problems.append("XDSPatientIdDoesNotMatch")
        if entry.document is not None and (
            hashlib.sha1(entry.document, usedforsecurity=False).hexdigest() != entry.hash
            or len(entry.document) != entry.size
        ):
            problems.append("XDSRepositoryMetadataError")
    if len({e.unique_id for e in entries}) != len(entries):
        problems.append("XDSDuplicateUniqueIdInSubmission")
    try:
        parse_cx(patient)
    except IdentityError:
        problems.append("XDSUnknownPatientId")
    return SubmissionSummary(
        unique_id=_externals(package, "ss_unique_id"),
        source_id=_externals(package, "ss_source_id"),
        patient=patient,
        entries=entries,
        problems=tuple(dict.fromkeys(problems)),
    )


def build_registry_response(errors: tuple[tuple[str, str], ...] = ()) -> etree._Element:
    """``RegistryResponse``: success, or failure with (errorCode, codeContext) pairs."""
    status = XDS["failure"] if errors else XDS["success"]
    root = etree.Element(f"{_RS}RegistryResponse", status=status, nsmap={"rs": NS["rs"]})
    if errors:
        listing = etree.SubElement(root, f"{_RS}RegistryErrorList")
        for code, context in errors:
            etree.SubElement(
                listing,
                f"{_RS}RegistryError",
                codeContext=context,
                errorCode=code,
                severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error",
            )
    return root


def read_registry_response(response: etree._Element) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Whether the registry accepted the submission, and its (errorCode, codeContext) pairs."""
    if response.tag != f"{_RS}RegistryResponse":
        raise DmpMessageInvalid(
            msg("dmp.xds.read_registry_response"),
            detail=f"root={response.tag}",
        )
    errors = tuple(
        (e.get("errorCode", ""), e.get("codeContext", ""))
        for e in response.iterfind(f"{_RS}RegistryErrorList/{_RS}RegistryError")
    )
    return response.get("status") == XDS["success"] and not errors, errors
