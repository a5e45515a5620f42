"""Audit events and their hash chain (ARCHITECTURE.md §7): the pure part.

Each event is serialised canonically (sorted-key JSON, UTF-8, no spaces) together
with its sequence number and the hash of the previous event; its own hash is the
SHA-256 of that text. Editing, deleting, inserting or moving any row therefore
breaks a link that :func:`verify_chain` names. A chain head (last seq and hash)
kept beside the table catches rows cut off at the end.

Privacy: events never carry a PIN or a password (keys that name one are refused)
and every NIR-shaped value is masked before it is hashed, so no full NIR is ever
written to the audit table or its export (DOMAIN.md §2).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kiosk.errors import InvalidInput
from kiosk.locale import msg

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditKind",
    "AuditRecord",
    "ChainReport",
    "canonical",
    "chain",
    "mask_nirs",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""

# 13-character body (sex, year, month, department incl. 2A/2B, commune, order) + 2-digit key.
_NIR = re.compile(
    r"(?<![0-9A-Za-z])([1-478])([0-9]{4}(?:[0-9]{2}|2[AaBb])[0-9]{6})([0-9]{2})(?![0-9])"
)
_FORBIDDEN = ("password", "passwd", "motdepasse", "mot_de_passe", "secret")


def mask_nirs(text: str) -> str:
    """Replace every NIR-shaped run in ``text`` by its first digit, stars and its key."""
    return _NIR.sub(lambda m: m.group(1) + "*" * 12 + m.group(3), text)


class AuditKind(StrEnum):
    """What happened (ARCHITECTURE.md §7, issue 8)."""

    CARD_INSERTED = "card.inserted"
    CARD_REMOVED = "card.removed"
    LOGIN = "session.login"
    LOGIN_REFUSED = "session.login_refused"
    """A named agent's local login refused (details ``agent``: the login typed, ``reason``)."""
    LOGOUT = "session.logout"
    SESSION_LOCKED = "session.locked"
    IDENTITY_VERIFIED = "identity.verified"
    INFORMATION_GIVEN = "information.given"
    CONSENT_GIVEN = "consent.given"
    CONSENT_REFUSED = "consent.refused"
    DMP_CREATION_QUEUED = "dmp.creation_queued"
    DMP_CREATED = "dmp.created"
    AUTHORIZATION_GIVEN = "dmp.authorization_given"
    AUTHORIZATION_REFUSED = "dmp.authorization_refused"
    WEB_ACCOUNT_OPENED = "dmp.web_account_opened"
    DMP_REACTIVATED = "dmp.reactivated"
    """TD1.2 at the patient's request, the patient present (details ``key``)."""
    DMP_CLOSED = "dmp.closed"
    """TD1.4 at the patient's request, the patient present (details ``reason``, ``key``)."""
    DMP_REFUSED_ABSENT = "dmp.refused_patient_absent"
    """A reactivation or closure asked without the patient's card in the reader (``action``)."""
    RECEIPT_PRINTED = "receipt.printed"
    RECEIPT_REPRINTED = "receipt.reprinted"
    ADMISSION_REOPENED = "admission.reopened"
    DOCUMENT_QUEUED = "dmp.document_queued"
    """A TD2.1 submission queued; details ``type`` (the document type's code) and ``key``
    (the outbox row's idempotency key), so the indicators count sent documents by type."""
    DOCUMENT_UPDATE_QUEUED = "dmp.document_update_queued"
    """A TD3.3 queued: details ``change`` (visibility, delete, wrong_patient), ``key`` and,
    for a visibility change, ``hidden_from`` (the populations it is hidden from)."""
    SELF_SERVICE_ROUTED = "selfservice.routed"
    """The self-service kiosk sent its patient to the desk (details ``reason``: its code)."""
    SELF_SERVICE_WIPED = "selfservice.wiped"
    """The self-service kiosk forgot its patient (``reason``: card_removed, timeout, finished)."""
    OUTBOX_ENQUEUED = "outbox.enqueued"
    OUTBOX_SENT = "outbox.sent"
    OUTBOX_ACKED = "outbox.acked"
    OUTBOX_RETRY = "outbox.retry"
    OUTBOX_DEAD = "outbox.dead"
    OUTBOX_PURGED = "outbox.purged"
    OUTBOX_REQUEUED = "outbox.requeued"


_json = functools.partial(json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=512)
def _check_key(key: str) -> None:
    # Cached: details keys come from a small fixed vocabulary, checked on every event.
    folded = re.sub(r"[^a-z]", "_", key.lower())
    if "pin" in folded.split("_") or any(word in folded for word in _FORBIDDEN):
        raise InvalidInput(
            msg("domain.audit.check_key", key=key),
        )


@dataclass(frozen=True)
class AuditEvent:
    """One action, with personal data masked at construction."""

    at: datetime
    kind: str
    actor: str = ""
    subject: str = ""
    details: Mapping[str, str] = field(default_factory=dict)

    at_text: str = field(init=False, repr=False, compare=False)
    """``at`` as stored and hashed (ISO 8601, microseconds)."""
    details_text: str = field(init=False, repr=False, compare=False)
    """``details`` as stored and hashed (sorted-key JSON, no spaces)."""
    _before_link: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise InvalidInput(msg("domain.audit.audit_event_post_init"))
        for key in self.details:
            _check_key(key)
        set_field = functools.partial(object.__setattr__, self)
        set_field("actor", mask_nirs(self.actor))
        set_field("subject", mask_nirs(self.subject))
        set_field("details", {str(k): mask_nirs(str(v)) for k, v in sorted(self.details.items())})
        # The canonical text up to its link is made once, here, off the writer's
        # transaction: an enqueue then only hashes it (issue 8 benchmark).
        set_field("at_text", self.at.isoformat(timespec="microseconds"))
        set_field("details_text", _json(self.details))
        set_field(
            "_before_link",
            f'{{"actor":{_json(self.actor)},"at":{_json(self.at_text)},'
            f'"details":{self.details_text},"kind":{_json(str(self.kind))},"prev":',
        )


@dataclass(frozen=True)
class AuditRecord:
    """An event at its place in the chain."""

    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str


def canonical(seq: int, event: AuditEvent, prev_hash: str) -> bytes:
    """The exact bytes that are hashed: sorted-key JSON of the event, its seq and the link.

    That is ``json.dumps({"actor", "at", "details", "kind", "prev", "seq", "subject"},
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, assembled from the
    part the event made at construction (tests hold it to that formula).
    """
    return (
        f'{event._before_link}{_json(prev_hash)},"seq":{int(seq)},'
        f'"subject":{_json(event.subject)}}}'
    ).encode()


def chain(seq: int, event: AuditEvent, prev_hash: str) -> AuditRecord:
    """Place ``event`` after the record whose hash is ``prev_hash``."""
    digest = hashlib.sha256(canonical(seq, event, prev_hash)).hexdigest()
    return AuditRecord(seq=seq, event=event, prev_hash=prev_hash, hash=digest)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: where the chain first breaks, and why."""

    ok: bool
    count: int
    head_seq: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""


def verify_chain(
    records: Iterable[AuditRecord], *, recorded_head: tuple[int, str] | None = None
) -> ChainReport:
    """Recompute every link; report the first row that was edited, removed or moved."""
    prev_hash = GENESIS_HASH
    prev_seq = 0
    count = 0
    for record in records:
        count += 1

        reason = ""
        if record.seq <= prev_seq:
            reason = f"row {record.seq} comes after row {prev_seq}: rows were reordered"
        elif record.seq != prev_seq + 1:
            reason = f"rows {prev_seq + 1}..{record.seq - 1} are missing: deleted"
        elif chain(record.seq, record.event, record.prev_hash).hash != record.hash:
            reason = f"row {record.seq} does not match its hash: edited"
        elif record.prev_hash != prev_hash:
            reason = (
                f"row {record.seq} does not follow row {prev_seq}: "
                "a row was deleted, inserted or moved before it"
            )
        if reason:
            return ChainReport(
                False, count, prev_seq, prev_hash, broken_at=record.seq, reason=reason
            )
        prev_hash, prev_seq = record.hash, record.seq
    if recorded_head is not None and recorded_head != (prev_seq, prev_hash):
        return ChainReport(
            False,
            count,
            prev_seq,
            prev_hash,
            broken_at=prev_seq + 1,
            reason=f"the chain ends at row {prev_seq} but its recorded head is row "
            f"{recorded_head[0]}: rows were deleted at the end",
        )
    return ChainReport(True, count, prev_seq, prev_hash)
