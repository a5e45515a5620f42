"""TD3.1 search (ITI-18 FindDocuments) and TD3.2 retrieval (ITI-43) in the simulated DMP.

Enough of both to check what was stored (DOMAIN.md §6), answered from the documents
table of :mod:`kiosk.sim.dmp.documents`, on the service's connection:

* ITI-18: ``query:AdhocQueryRequest`` with the FindDocuments stored query and one
  ``$XDSDocumentEntryPatientId`` (HL7 CX, quoted) which must be the VIHF's patient;
  the answer lists one ``rim:ExtrinsicObject`` per visible document (entryUUID,
  availability status, uniqueId, type code, confidentiality codes);
* ITI-43: ``xds:RetrieveDocumentSetRequest`` naming documents by uniqueId; the answer
  carries each one inline (base64), exactly as it was submitted; an unknown or hidden
  document is a ``XDSDocumentUniqueIdError``;
* visibility (DOMAIN.md §1): deleted documents are never returned, and a document
  hidden from professionals (``MASQUE_PS``) only to its author.
The service checks the habilitation (TD3.1/TD3.2) and the structure's authorization,
which the emergency access modes stand in for (:mod:`kiosk.sim.dmp.service`).
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid

from lxml import etree

from kiosk.dmp.vihf import VihfReading
from kiosk.dmp.vocabulary import NS, XDS
from kiosk.dmp.xds import build_registry_response
from kiosk.domain.visibility import HIDDEN_FROM_PROFESSIONALS

__all__ = [
    "FIND_DOCUMENTS",
    "QUERY_NS",
    "QUERY_TRANSACTIONS",
    "DocumentQueries",
]

QUERY_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
"""IHE ITI TF-2a §3.18.4.1.2.3.7.1: the FindDocuments stored query id."""

QUERY_TRANSACTIONS: dict[str, tuple[str, str]] = {
    f"{{{QUERY_NS}}}AdhocQueryRequest": ("urn:ihe:iti:2007:RegistryStoredQuery", "TD3.1"),
    f"{{{NS['xds']}}}RetrieveDocumentSetRequest": ("urn:ihe:iti:2007:RetrieveDocumentSet", "TD3.2"),
}
"""Payload element → (WS-Addressing action, transaction)."""

_RIM = f"{{{NS['rim']}}}"
_XDS = f"{{{NS['xds']}}}"
_STATUS = "urn:oasis:names:tc:ebxml-regrep:StatusType:"
_Answer = tuple[etree._Element, str, str]


class DocumentQueries:
    """Search and retrieval over the stored documents, as one caller may see them."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def answer(self, payload: etree._Element, reading: VihfReading) -> _Answer:
        """The response element, the trace outcome and the transaction."""
        matricule = reading.patient.matricule.value if reading.patient else ""
        visible = self._visible(matricule, reading.national_id)
        if payload.tag == f"{{{QUERY_NS}}}AdhocQueryRequest":
            return self._find(payload, reading, visible)
        return self._retrieve(payload, visible)

    def _visible(self, matricule: str, caller: str) -> dict[str, tuple[str, ...]]:
        rows = self._db.execute(
            "SELECT unique_id, entry_uuid, type_code, authors, confidentiality, status"
            " FROM document WHERE matricule = ? AND status != 'Deleted' ORDER BY rowid",
            (matricule,),
        ).fetchall()
        shown: dict[str, tuple[str, ...]] = {}
        for unique_id, entry, type_code, authors, codes, status in rows:
            confidentiality = [code for code, _system in json.loads(codes)]
            if HIDDEN_FROM_PROFESSIONALS in confidentiality and caller not in json.loads(authors):
                continue
            shown[unique_id] = (entry, type_code, status, " ".join(confidentiality))
        return shown

    def _find(
        self, payload: etree._Element, reading: VihfReading, visible: dict[str, tuple[str, ...]]
    ) -> _Answer:
        query = payload.find(f"{_RIM}AdhocQuery")
        slot = f"{_RIM}Slot[@name='$XDSDocumentEntryPatientId']/{_RIM}ValueList/{_RIM}Value"
        asked = (query.findtext(slot) or "").strip().strip("'") if query is not None else ""
        response = etree.Element(f"{{{QUERY_NS}}}AdhocQueryResponse", nsmap={"query": QUERY_NS})
        if query is None or query.get("id") != FIND_DOCUMENTS:
            return *_failed(response, "XDSUnknownStoredQuery", "only FindDocuments"), "TD3.1"
        if reading.patient is None or asked != reading.patient.hl7_cx():
            return *_failed(response, "XDSPatientIdDoesNotMatch", "VIHF patient"), "TD3.1"
        response.set("status", XDS["success"])
        objects = etree.SubElement(response, f"{_RIM}RegistryObjectList", nsmap={"rim": NS["rim"]})
        for unique_id, (entry, type_code, status, codes) in visible.items():
            extrinsic = etree.SubElement(
                objects,
                f"{_RIM}ExtrinsicObject",
                id=entry,
                status=_STATUS + status,
                objectType=XDS["stable_entry"],
            )
            _classification(extrinsic, XDS["de_type"], entry, type_code)
            for code in codes.split():
                _classification(extrinsic, XDS["de_confidentiality"], entry, code)
            etree.SubElement(
                extrinsic,
                f"{_RIM}ExternalIdentifier",
                id=_object_id(entry, XDS["de_unique_id"], unique_id),
                identificationScheme=XDS["de_unique_id"],
                registryObject=entry,
                value=unique_id,
            )
        return (response, f"found={len(visible)}", "TD3.1")

    def _retrieve(self, payload: etree._Element, visible: dict[str, tuple[str, ...]]) -> _Answer:
        repositories = {
            (request.findtext(f"{_XDS}DocumentUniqueId") or "").strip(): (
                request.findtext(f"{_XDS}RepositoryUniqueId") or ""
            ).strip()
            for request in payload.iterfind(f"{_XDS}DocumentRequest")
        }
        wanted = list(repositories)
        unknown = [w for w in wanted if w not in visible]
        errors = tuple(("XDSDocumentUniqueIdError", w[:120]) for w in unknown) or (
            () if wanted else (("XDSRegistryMetadataError", "no DocumentRequest"),)
        )
        response = etree.Element(f"{_XDS}RetrieveDocumentSetResponse", nsmap={"xds": NS["xds"]})
        response.append(build_registry_response(errors))
        if errors:
            return response, f"refused:{errors[0][0]}", "TD3.2"
        for unique_id in wanted:
            row = self._db.execute(
                "SELECT content FROM document WHERE unique_id = ?", (unique_id,)
            ).fetchone()
            document = etree.SubElement(response, f"{_XDS}DocumentResponse")
            # ITI-43 (XDS.b schema): the repository comes before the document's id.
            etree.SubElement(document, f"{_XDS}RepositoryUniqueId").text = repositories[unique_id]
            etree.SubElement(document, f"{_XDS}DocumentUniqueId").text = unique_id
            etree.SubElement(document, f"{_XDS}mimeType").text = "text/xml"
            content = base64.b64encode(row[0] or b"").decode("ascii")
            etree.SubElement(document, f"{_XDS}Document").text = content
        return response, f"retrieved={len(wanted)}", "TD3.2"


def _object_id(*parts: str) -> str:
    """A stable ``urn:uuid`` for a metadata object (ebRIM requires an ``id`` on each)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}"


def _classification(parent: etree._Element, scheme: str, target: str, code: str) -> None:
    etree.SubElement(
        parent,
        f"{_RIM}Classification",
        id=_object_id(target, scheme, code),
        classificationScheme=scheme,
        classifiedObject=target,
        nodeRepresentation=code,
    )


def _failed(response: etree._Element, code: str, context: str) -> tuple[etree._Element, str]:
    response.set("status", XDS["failure"])
    listing = etree.SubElement(response, f"{{{NS['rs']}}}RegistryErrorList", nsmap={"rs": NS["rs"]})
    etree.SubElement(
        listing,
        f"{{{NS['rs']}}}RegistryError",
        codeContext=context,
        errorCode=code,
        severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error",
    )
    return response, f"refused:{code}"
