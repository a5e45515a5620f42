"""The simulated DMP's access history: every call on a record, as the patient sees it.

DOMAIN.md §1: every access and action is traced and visible to the patient and the
attending physician, emergency accesses included. One row per call by an
authenticated caller (a request whose VIHF does not verify names nobody), refused
attempts included (outcome ``refused:<fault>``): when, which transaction, who
(national id), the authentication mode, the purpose of use with the « bris de glace »
justification, and the outcome. A call that changes state is traced inside the
service's transaction, so its trace exists exactly when the change does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kiosk.clock import Clock
from kiosk.dmp.vihf import VihfReading
from kiosk.dmp.vocabulary import ATTR

__all__ = ["TRACE_SCHEMA", "Trace", "TraceLog"]

TRACE_SCHEMA = """
CREATE TABLE IF NOT EXISTS trace (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, matricule TEXT NOT NULL,
    transaction_ TEXT NOT NULL, actor TEXT NOT NULL, mode TEXT NOT NULL,
    purpose TEXT NOT NULL, outcome TEXT NOT NULL, justification TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True)
class Trace:
    """One call as the patient would see it in the DMP's access history."""

    at: str
    transaction: str
    actor: str
    mode: str
    purpose: str
    outcome: str
    justification: str = ""
    """The « bris de glace » justification, shown to the patient with the access."""


class TraceLog:
    """The trace table on the service's connection."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self.clock = clock
        db.executescript(TRACE_SCHEMA)
        if "justification" not in {row[1] for row in db.execute("PRAGMA table_info(trace)")}:
            # A database made before emergency justifications were traced.
            db.execute("ALTER TABLE trace ADD COLUMN justification TEXT NOT NULL DEFAULT ''")

    def record(self, matricule: str, transaction: str, reading: VihfReading, outcome: str) -> None:
        """Trace one call (inside the caller's transaction)."""
        self._db.execute(
            "INSERT INTO trace"
            " (at, matricule, transaction_, actor, mode, purpose, outcome, justification)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.clock.now().isoformat(),
                matricule,
                transaction,
                reading.national_id,
                reading.auth_mode,
                reading.purpose,
                outcome,
                reading.first(ATTR["emergency_reason"]),
            ),
        )

    def for_patient(self, matricule: str) -> list[Trace]:
        """Every call about this patient, oldest first."""
        rows = self._db.execute(
            "SELECT at, transaction_, actor, mode, purpose, outcome, justification FROM trace"
            " WHERE matricule = ? ORDER BY seq",
            (matricule,),
        ).fetchall()
        return [Trace(*row) for row in rows]
