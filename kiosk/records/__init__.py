"""The local identity record: INS, traits, RNIV status, sources, IPP and DMP facts, on disk."""

from __future__ import annotations

from kiosk.records.record import IdentityRecord, KnownDmp, Source
from kiosk.records.store import Observation, RecordMissing, RecordStore, StoredRecord

__all__ = [
    "IdentityRecord",
    "KnownDmp",
    "Observation",
    "RecordMissing",
    "RecordStore",
    "Source",
    "StoredRecord",
]
