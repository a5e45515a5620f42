"""TD3.1: the patient's documents as the DMP lists them (IHE ITI-18 FindDocuments).

The request is the registry stored query of IHE ITI TF-2a §3.18.4.1.2.3.7.1: one
``AdhocQuery`` with the FindDocuments id, the patient as an HL7 CX in single quotes, the
approved and deprecated (archived) entries, full metadata (``LeafClass``). The answer's
``ExtrinsicObject`` entries are read for what the desk shows: uniqueId, entryUUID,
type, status and the populations it is hidden from (confidentiality codes). Only the
habilitations that allow a search reach it (doctors and other professionals with their
own card, seed 001: « La consultation des DMP ne peut être effectuée que par un
professionnel de santé et nécessite l'usage d'une CPS individuelle »).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid
from kiosk.dmp.vocabulary import NS, XDS
from kiosk.domain.ins import Ins
from kiosk.domain.visibility import (
    HIDDEN_FROM_LEGAL_REPRESENTATIVES,
    HIDDEN_FROM_PATIENT,
    HIDDEN_FROM_PROFESSIONALS,
    Visibility,
)
from kiosk.locale import msg

__all__ = ["FoundDocument", "build_find_documents", "read_find_documents"]

_RIM = f"{{{NS['rim']}}}"
_QUERY = f"{{{XDS['query_ns']}}}"
_RS = f"{{{NS['rs']}}}"
_STATUS_PREFIX = "urn:oasis:names:tc:ebxml-regrep:StatusType:"


@dataclass(frozen=True)
class FoundDocument:
    """One document entry of a TD3.1 answer."""

    unique_id: str
    entry_uuid: str
    type_code: str
    status: str
    """``Approved`` or ``Deprecated`` (archived)."""
    visibility: Visibility


def _value(parent: etree._Element, name: str, *values: str) -> None:
    slot = etree.SubElement(parent, f"{_RIM}Slot", name=name)
    listed = etree.SubElement(slot, f"{_RIM}ValueList")
    for value in values:
        etree.SubElement(listed, f"{_RIM}Value").text = value


def build_find_documents(patient: Ins) -> etree._Element:
    """The ITI-18 FindDocuments request for ``patient``'s approved and archived entries."""
    root = etree.Element(
        f"{_QUERY}AdhocQueryRequest", nsmap={"query": XDS["query_ns"], "rim": NS["rim"]}
    )
    etree.SubElement(root, f"{_QUERY}ResponseOption", returnType="LeafClass")
    query = etree.SubElement(root, f"{_RIM}AdhocQuery", id=XDS["find_documents"])
    _value(query, "$XDSDocumentEntryPatientId", f"'{patient.hl7_cx()}'")
    _value(
        query,
        "$XDSDocumentEntryStatus",
        f"('{XDS['status_approved']}','{XDS['status_deprecated']}')",
    )
    return root


def _invalid(detail: str) -> DmpMessageInvalid:
    return DmpMessageInvalid(msg("dmp.query.read_find_documents"), detail=detail)


def read_find_documents(response: etree._Element) -> tuple[FoundDocument, ...]:
    """The entries of an ``AdhocQueryResponse``; a failure's error codes raise."""
    if response.tag != f"{_QUERY}AdhocQueryResponse":
        raise _invalid(f"root={response.tag}")
    if response.get("status") != XDS["success"]:
        codes = [e.get("errorCode", "?") for e in response.iter(f"{_RS}RegistryError")]
        raise _invalid(f"failure {','.join(codes) or '?'}")
    found: list[FoundDocument] = []
    for entry in response.iterfind(f"{_RIM}RegistryObjectList/{_RIM}ExtrinsicObject"):
        entry_uuid = entry.get("id", "")
        unique_id = ""
        for ident in entry.iterfind(f"{_RIM}ExternalIdentifier"):
            if ident.get("identificationScheme") == XDS["de_unique_id"]:
                unique_id = ident.get("value", "")
        type_code, codes = "", []
        for classification in entry.iterfind(f"{_RIM}Classification"):
            scheme = classification.get("classificationScheme")
            code = classification.get("nodeRepresentation", "")
            if scheme == XDS["de_type"]:
                type_code = code
            elif scheme == XDS["de_confidentiality"]:
                codes.append(code)
        if not unique_id or not entry_uuid:
            raise _invalid("entry without uniqueId or id")
        status = entry.get("status", "").removeprefix(_STATUS_PREFIX)
        found.append(FoundDocument(unique_id, entry_uuid, type_code, status, _visibility(codes)))
    return tuple(found)


def _visibility(codes: list[str]) -> Visibility:
    return Visibility(
        professionals=HIDDEN_FROM_PROFESSIONALS not in codes,
        patient=HIDDEN_FROM_PATIENT not in codes,
        legal_representatives=HIDDEN_FROM_LEGAL_REPRESENTATIVES not in codes,
    )
