"""The local identity record: INS, traits, RNIV status, sources, IPP and DMP facts, on disk."""

from __future__ import annotations

from kiosk.records.store import Observation, RecordMissing, RecordStore, StoredRecord

__all__ = ["Observation", "RecordMissing", "RecordStore", "StoredRecord"]
