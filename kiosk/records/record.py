"""The record values shared by the services and the store: identity record, sources, DMP facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kiosk.domain.ins import Identity, Ins
from kiosk.domain.visibility import Visibility

__all__ = ["DocumentState", "IdentityRecord", "KnownDmp", "SentDocument", "Source"]


class Source(StrEnum):
    """Where the identity's traits were checked."""

    VITALE = "vitale"
    INSI = "insi"
    DATAMATRIX = "datamatrix"
    DOCUMENT = "document"
    """A high-trust identity document checked by the agent (ID card, passport, permit)."""
    EARLIER = "earlier"
    """The qualification of an earlier visit, kept: INSi confirmed the same identity now."""


@dataclass(frozen=True, repr=False)
class IdentityRecord:
    """The local identity record: INS, OID, traits, status, sources, times, IPP."""

    identity: Identity
    sources: frozenset[Source]
    history: tuple[Ins, ...]
    created_at: datetime
    checked_at: datetime
    ipp: str | None = None

    def __repr__(self) -> str:
        return (
            f"IdentityRecord({self.identity!r}, sources={sorted(self.sources)}, ipp="
            f"{'set' if self.ipp else None})"
        )


@dataclass(frozen=True)
class KnownDmp:
    """What this site already knows of a patient's DMP."""

    exists: bool
    authorized: bool


class DocumentState(StrEnum):
    """Where a document this establishment sent stands, as the kiosk last queued it."""

    SENT = "sent"
    """Queued for the DMP (TD2.1), or stored there."""
    DELETED = "deleted"
    """Deleted by its author (TD3.3b)."""
    WITHDRAWN = "withdrawn"
    """Withdrawn from the wrong patient's DMP (TD3.3c)."""


@dataclass(frozen=True)
class SentDocument:
    """A document this establishment sent to the patient's DMP, as the kiosk keeps it."""

    unique_id: str
    entry_uuid: str
    type_code: str
    """The document type's LOINC code."""
    title: str
    visibility: Visibility
    state: DocumentState
    sent_at: datetime
    sent_by: str
    """The agent's national id."""
