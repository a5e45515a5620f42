"""Documents at the desk for the patient at hand: submit a PDF, list, mask, delete, correct.

Seed 000: a document's visibility is set for three populations (professionals, the
patient, the legal representatives), its author alone deletes it, and a document sent
to the wrong DMP is corrected (TD3.3c). Seed 001: a result may be held from the patient
until the consultation d'annonce, then released. Every write goes through the outbox
(the TD2.1/TD3.3 body as it will be resent, ``kiosk/dmp/sender.py``); before anything is
queued the habilitation table is asked, so a role it refuses — a secretary with her
CPE, seed 001: « une secrétaire médicale ne peut pas ajouter des documents dans le DMP
en authentification directe par carte CPE » — gets a clear refusal and nothing changes.

Bad input changes nothing either: an unknown document type, a file that is not a PDF,
one over :data:`MAX_PDF_BYTES`, a patient without a qualified local record.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from lxml import etree

from kiosk.clock import Clock, uuid7
from kiosk.dmp.attributes import AttributeChange, AttributeUpdate, build_attribute_update
from kiosk.dmp.cda import CdaDocument, DocumentAuthor, build_cda
from kiosk.dmp.sender import registry_item
from kiosk.dmp.vocabulary import DOCUMENT_CLASS, DOCUMENT_MODELS, OID, CodedValue
from kiosk.dmp.xds import Submission, build_submission
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.domain.ins import IdentityNotQualified, IdentityStatus, Ins
from kiosk.domain.visibility import Visibility
from kiosk.errors import InvalidInput
from kiosk.locale import msg
from kiosk.outbox.ports import Delivery
from kiosk.records.record import DocumentState, SentDocument
from kiosk.records.store import StoredRecord
from kiosk.services.admission import AuditTrail
from kiosk.services.enrolment import OutboxPort

__all__ = [
    "MAX_PDF_BYTES",
    "VISIBLE_TO_ALL",
    "DocumentDesk",
    "DocumentInvalid",
    "DocumentSite",
    "QueuedWrite",
]

MAX_PDF_BYTES = 10 << 20
"""A PDF sent to the DMP: 10 MiB (a scanned discharge letter is well under 1 MiB); the
outbox keeps the whole body, base64 inside the CDA, below its 16 MiB payload limit."""

_PDF_MAGIC = b"%PDF-"

VISIBLE_TO_ALL = Visibility()
"""Professionals, the patient and the legal representatives see it (the default)."""


class DocumentInvalid(InvalidInput):
    """A document the kiosk will not send: unknown type, not a PDF, too large."""

    code = "DOCUMENT_INVALID"


class Registry(Protocol):
    """The DMP client's side the documents need: the local pre-check."""

    def check(self, name: str, body: etree._Element | None = None) -> None:
        """``HabilitationDenied`` when the table refuses transaction ``name``."""
        ...


class Records(Protocol):
    """The patient's local record and the documents sent for them (``RecordStore``)."""

    async def get(self, ins: Ins) -> StoredRecord | None:
        """The stored record, or None."""
        ...

    async def remember_document(self, patient: Ins, document: SentDocument) -> None:
        """Keep a document sent, or its new visibility or state."""
        ...

    async def documents(self, patient: Ins) -> tuple[SentDocument, ...]:
        """The documents sent for the patient and not taken back."""
        ...


@dataclass(frozen=True)
class DocumentSite:
    """What every document of this establishment carries."""

    document_root: str
    """OID under which the establishment numbers its documents."""
    source_id: str
    """OID of this installation (XDS ``sourceId``)."""
    facility: CodedValue
    """The structure's activity sector (R02)."""


@dataclass(frozen=True)
class QueuedWrite:
    """A document write queued: its key, and what became of it at once."""

    unique_id: str
    key: str
    delivery: Delivery
    error: str = ""


class DocumentDesk:
    """The document actions of one agent's session, for a patient with a qualified record."""

    def __init__(
        self,
        *,
        registry: Registry,
        outbox: OutboxPort,
        records: Records,
        trail: AuditTrail,
        clock: Clock,
        author: DocumentAuthor,
        site: DocumentSite,
        mode: str,
    ) -> None:
        self._registry = registry
        self._outbox = outbox
        self._records = records
        self._trail = trail
        self._clock = clock
        self._author = author
        self._site = site
        self._mode = mode

    @staticmethod
    def types() -> Mapping[str, str]:
        """Document type key → its label (the vocabulary's models)."""
        return {key: model.display_name for key, model in DOCUMENT_MODELS.items()}

    async def submit(
        self,
        patient: Ins,
        pdf: bytes,
        type_key: str,
        *,
        visibility: Visibility = VISIBLE_TO_ALL,
        title: str = "",
    ) -> QueuedWrite:
        """TD2.1 of ``pdf`` as a document of type ``type_key``, queued then sent when online."""
        model = DOCUMENT_MODELS.get(type_key)
        if model is None:
            raise DocumentInvalid(
                msg("services.documents.unknown_type", known=", ".join(DOCUMENT_MODELS)),
                detail=f"type={type_key[:40]}",
            )
        if not pdf.startswith(_PDF_MAGIC):
            raise DocumentInvalid(msg("services.documents.not_pdf"), detail="magic")
        if len(pdf) > MAX_PDF_BYTES:
            raise DocumentInvalid(
                msg("services.documents.too_large", limit_mib=MAX_PDF_BYTES >> 20),
                detail=f"bytes={len(pdf)}",
            )
        record = await self._qualified(patient)
        now = self._clock.now()
        cda = CdaDocument(
            document_root=self._site.document_root,
            document_extension=str(uuid7(self._clock)),
            model=model,
            title=title.strip() or model.display_name,
            patient=patient,
            traits=_Traits(record),
            author=self._author,
            created=now,
            service_start=now,
            service_end=None,
            facility=self._site.facility,
            pdf=pdf,
        )
        submission = _submission(cda, type_key, visibility, self._site.source_id, now, self._clock)
        body = await asyncio.to_thread(build_submission, submission)
        self._registry.check("TD2.1", body)  # refused before anything is queued
        kind, key, payload = registry_item("TD2.1", body, patient, submission.document_unique_id)
        await self._outbox.enqueue(kind, key, payload)
        sent = SentDocument(
            submission.document_unique_id,
            f"urn:uuid:{submission.entry_uuid}",  # the ebRIM id the DMP stores it under
            model.code,
            cda.title,
            visibility,
            DocumentState.SENT,
            now,
            self._author.national_id,
        )
        await self._records.remember_document(patient, sent)
        await self._audit(AuditKind.DOCUMENT_QUEUED, patient, {"type": model.code, "key": key})
        delivery, error = await self._outbox.deliver(key)
        return QueuedWrite(submission.document_unique_id, key, delivery, error)

    async def submit_file(
        self,
        patient: Ins,
        path: Path,
        type_key: str,
        *,
        visibility: Visibility = VISIBLE_TO_ALL,
        title: str = "",
    ) -> QueuedWrite:
        """:meth:`submit` of the PDF at ``path``: its size checked before it is read."""
        pdf = await asyncio.to_thread(_read_pdf, path)
        return await self.submit(patient, pdf, type_key, visibility=visibility, title=title)

    async def documents(self, patient: Ins) -> tuple[SentDocument, ...]:
        """The documents this establishment sent for the patient, as it last queued them.

        Not a TD3.1: the establishment's certificate may not search the DMP (seed 001:
        « La consultation des DMP ne peut être effectuée que par un professionnel de
        santé et nécessite l'usage d'une CPS individuelle »), and these are ours.
        """
        await self._qualified(patient)
        return await self._records.documents(patient)

    async def set_visibility(
        self, patient: Ins, document: SentDocument, visibility: Visibility
    ) -> QueuedWrite:
        """TD3.3a: hide the document from, or show it again to, any of the three populations."""
        changed = dataclasses.replace(document, visibility=visibility)
        return await self._change(patient, changed, AttributeChange.VISIBILITY, visibility)

    async def delete(self, patient: Ins, document: SentDocument) -> QueuedWrite:
        """TD3.3b: the author deletes their own document (the DMP checks the author)."""
        changed = dataclasses.replace(document, state=DocumentState.DELETED)
        return await self._change(patient, changed, AttributeChange.DELETE)

    async def wrong_patient(self, patient: Ins, document: SentDocument, reason: str) -> QueuedWrite:
        """TD3.3c: a document sent to this patient's DMP by mistake is withdrawn, with why."""
        if not reason.strip():
            raise DocumentInvalid(msg("services.documents.reason"), detail="no reason")
        changed = dataclasses.replace(document, state=DocumentState.WITHDRAWN)
        return await self._change(
            patient, changed, AttributeChange.WRONG_PATIENT, reason=reason.strip()
        )

    async def _change(
        self,
        patient: Ins,
        document: SentDocument,
        change: AttributeChange,
        visibility: Visibility | None = None,
        reason: str = "",
    ) -> QueuedWrite:
        await self._qualified(patient)
        update = AttributeUpdate(
            update_uuid=uuid7(self._clock),
            patient=patient,
            entry_uuid=document.entry_uuid,
            unique_id=document.unique_id,
            change=change,
            visibility=visibility,
            reason=reason,
        )
        body = build_attribute_update(update)
        self._registry.check("TD3.3", body)  # deletion and correction have their own rows
        kind, key, payload = registry_item("TD3.3", body, patient, str(update.update_uuid))
        await self._outbox.enqueue(kind, key, payload)
        details = {"change": change.value, "key": key}
        if visibility is not None:
            details["hidden_from"] = ",".join(visibility.hidden_from()) or "none"
        await self._audit(AuditKind.DOCUMENT_UPDATE_QUEUED, patient, details)
        delivery, error = await self._outbox.deliver(key)
        if delivery is not Delivery.DEAD:  # done, or queued to be sent: kept as it will be
            await self._records.remember_document(patient, document)
        return QueuedWrite(document.unique_id, key, delivery, error)

    async def _qualified(self, patient: Ins) -> StoredRecord:
        stored = await self._records.get(patient)
        if stored is None or stored.current.identity.status is not IdentityStatus.QUAL:
            raise IdentityNotQualified(
                msg("services.documents.not_qualified"), detail="no qualified record"
            )
        return stored

    async def _audit(self, kind: AuditKind, patient: Ins, details: dict[str, str]) -> None:
        event = AuditEvent(
            self._clock.now(),
            kind,
            actor=self._author.national_id,
            subject=patient.matricule.value,  # masked by the event
            details={"mode": self._mode, **details},
        )
        await asyncio.shield(self._trail.record(event))


class _Traits:
    """The record's strict traits as the CDA header states them."""

    def __init__(self, record: StoredRecord) -> None:
        traits = record.current.identity.traits
        self.birth_family_name = traits.birth_family_name
        self.birth_given_names = traits.birth_given_names
        self.birth_date = traits.birth_date
        self.sex = traits.sex.value


def _submission(
    cda: CdaDocument,
    type_key: str,
    visibility: Visibility,
    source_id: str,
    now: datetime,
    clock: Clock,
) -> Submission:
    document = etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8")
    set_uuid = uuid7(clock)
    class_code, class_label = DOCUMENT_CLASS[type_key]
    return Submission(
        cda=cda,
        document=document,
        entry_uuid=uuid7(clock),
        submission_uuid=set_uuid,
        submission_unique_id=f"2.25.{uuid.UUID(str(set_uuid)).int}",  # ITU-T X.667 OID
        source_id=source_id,
        visibility=visibility,
        class_code=CodedValue(class_code, OID["xds_class"], class_label),
        practice=CodedValue("ETABLISSEMENT", OID["xds_practice"], "Établissement de santé"),
        content_type=CodedValue("04", OID["xds_content_type"], "Hospitalisation"),
        submitted=now,
    )


def _read_pdf(path: Path) -> bytes:
    """The file's bytes, refused unread when over :data:`MAX_PDF_BYTES` (``~`` expanded)."""
    try:
        path = path.expanduser()
        size = path.stat().st_size
        if size > MAX_PDF_BYTES:
            raise DocumentInvalid(
                msg("services.documents.too_large", limit_mib=MAX_PDF_BYTES >> 20),
                detail=f"bytes={size}",
            )
        return path.read_bytes()
    except OSError as exc:
        raise DocumentInvalid(
            msg("services.documents.unreadable", path=str(path)), detail=type(exc).__name__
        ) from exc
