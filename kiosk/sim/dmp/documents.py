"""The simulated DMP's documents: TD2.1 provide-and-register and TD3.3 attribute updates.

Used by :class:`kiosk.sim.dmp.service.DmpSimulator` inside its transaction, on its
SQLite connection. Rules (DOMAIN.md §1 and §6):

* a submission is read by :func:`kiosk.dmp.xds.read_submission` (XDS error codes for
  inconsistent metadata), its patient must be the VIHF's and have an open DMP, and the
  inline CDA is parsed with the hardened parser and checked against the CDA schema;
* a uniqueId already stored is refused (``XDSDuplicateUniqueIdInRegistry``) unless it
  is the same entry with the same content: that is a resend after a lost answer, and
  it succeeds without storing anything twice;
* an update must name a stored document of the VIHF's patient; delete and the
  wrong-record correction are for the document's author only.
Documents arrive inline (base64) or, with MTOM, resolved from their XOP part by the
service. The XAdES signature of the submission set is checked before, by
:mod:`kiosk.sim.dmp.xades`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from lxml import etree

from kiosk.dmp.attributes import AttributeChange, read_attribute_update
from kiosk.dmp.cda import read_cda
from kiosk.dmp.vihf import VihfReading
from kiosk.dmp.xds import read_submission
from kiosk.errors import KioskError
from kiosk.soap.envelope import parse_xml

__all__ = ["DOCUMENT_SCHEMA", "DocumentRegistry", "RegistryOutcome", "StoredDocument"]

DOCUMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS document (
    unique_id TEXT PRIMARY KEY, entry_uuid TEXT NOT NULL, matricule TEXT NOT NULL,
    hash TEXT NOT NULL, type_code TEXT NOT NULL, authors TEXT NOT NULL,
    confidentiality TEXT NOT NULL, status TEXT NOT NULL, stored_at TEXT NOT NULL,
    content BLOB
);
"""

_MAX_CDA_BYTES = 20 << 20
"""Largest CDA accepted inline (the PDF base64 inside): 20 MiB."""


@dataclass(frozen=True)
class RegistryOutcome:
    """Errors for the ``RegistryResponse`` (empty on success) and the trace outcome."""

    errors: tuple[tuple[str, str], ...]
    outcome: str


@dataclass(frozen=True)
class StoredDocument:
    """One document as the simulated DMP holds it."""

    unique_id: str
    entry_uuid: str
    type_code: str
    authors: tuple[str, ...]
    confidentiality: tuple[tuple[str, str], ...]
    status: str


def _failed(code: str, context: str) -> RegistryOutcome:
    return RegistryOutcome(((code, context),), f"refused:{code}")


class DocumentRegistry:
    """Documents of the simulated DMP, on the service's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(DOCUMENT_SCHEMA)

    def documents_for(self, matricule: str) -> list[StoredDocument]:
        """Every document stored for this patient, in storage order."""
        rows = self._db.execute(
            "SELECT unique_id, entry_uuid, type_code, authors, confidentiality, status"
            " FROM document WHERE matricule = ? ORDER BY rowid",
            (matricule,),
        ).fetchall()
        return [
            StoredDocument(
                row[0],
                row[1],
                row[2],
                tuple(json.loads(row[3])),
                tuple((code, system) for code, system in json.loads(row[4])),
                row[5],
            )
            for row in rows
        ]

    def summary(self, matricule: str) -> list[dict[str, object]]:
        """The patient's documents as ``kiosk sim dmp show`` prints them (no content)."""
        return [
            {
                "unique_id": d.unique_id,
                "type_code": d.type_code,
                "status": d.status,
                "authors": list(d.authors),
                "confidentiality": [code for code, _system in d.confidentiality],
            }
            for d in self.documents_for(matricule)
        ]

    def submit(self, request: etree._Element, reading: VihfReading, now: str) -> RegistryOutcome:
        """TD2.1: store the submission's documents, or say why not."""
        summary = read_submission(request)
        if summary.problems:
            return RegistryOutcome(
                tuple((p, "metadata") for p in summary.problems), f"refused:{summary.problems[0]}"
            )
        if reading.patient is None or summary.patient != reading.patient.hl7_cx():
            return _failed("XDSPatientIdDoesNotMatch", "VIHF patient")
        matricule = reading.patient.matricule.value
        known = self._db.execute(
            "SELECT status FROM dmp WHERE matricule = ?", (matricule,)
        ).fetchone()
        if known is None:
            return _failed("XDSUnknownPatientId", "no DMP for this patient")
        if known[0] != "ACTIF":
            return _failed("XDSUnknownPatientId", "the DMP is closed")
        for entry in summary.entries:
            if entry.document is None:
                return _failed("XDSMissingDocument", entry.entry_uuid)
            try:
                cda = read_cda(parse_xml(entry.document, max_bytes=_MAX_CDA_BYTES))
            except KioskError as exc:
                return _failed("XDSRepositoryMetadataError", exc.detail[:120])
            if cda.patient != reading.patient:
                return _failed("XDSPatientIdDoesNotMatch", "CDA patient")
            stored = self._db.execute(
                "SELECT entry_uuid, hash FROM document WHERE unique_id = ?", (entry.unique_id,)
            ).fetchone()
            if stored is not None:
                if tuple(stored) == (entry.entry_uuid, entry.hash):
                    continue  # the same document resent after a lost answer
                return _failed("XDSDuplicateUniqueIdInRegistry", entry.unique_id)
            self._db.execute(
                "INSERT INTO document VALUES (?, ?, ?, ?, ?, ?, ?, 'Approved', ?, ?)",
                (
                    entry.unique_id,
                    entry.entry_uuid,
                    matricule,
                    entry.hash,
                    entry.type_code,
                    json.dumps(entry.author_ids),
                    json.dumps(entry.confidentiality),
                    now,
                    entry.document,  # as submitted: TD3.2 returns it unchanged
                ),
            )
        return RegistryOutcome((), "stored")

    def update(self, request: etree._Element, reading: VihfReading) -> RegistryOutcome:
        """TD3.3: change a stored document's visibility or status."""
        update = read_attribute_update(request)
        if reading.patient is None or update.patient != reading.patient:
            return _failed("XDSPatientIdDoesNotMatch", "VIHF patient")
        row = self._db.execute(
            "SELECT authors, matricule FROM document WHERE unique_id = ? AND entry_uuid = ?",
            (update.unique_id, update.entry_uuid),
        ).fetchone()
        if row is None or row[1] != update.patient.matricule.value:
            return _failed("XDSUnknownDocument", update.unique_id)
        author_only = {AttributeChange.DELETE, AttributeChange.WRONG_PATIENT}
        if update.change in author_only and reading.national_id not in json.loads(row[0]):
            return _failed("XDSRegistryError", "only the author may delete or correct")
        if update.change is AttributeChange.VISIBILITY:
            self._db.execute(
                "UPDATE document SET confidentiality = ? WHERE unique_id = ?",
                (json.dumps(update.confidentiality), update.unique_id),
            )
        else:
            status = {
                AttributeChange.ARCHIVE: "Deprecated",
                AttributeChange.UNARCHIVE: "Approved",
                AttributeChange.DELETE: "Deleted",
                AttributeChange.WRONG_PATIENT: "Deleted",
            }[update.change]
            self._db.execute(
                "UPDATE document SET status = ? WHERE unique_id = ?", (status, update.unique_id)
            )
        return RegistryOutcome((), update.change.value)
