"""The persistent identity-record store: one SQLite row per INS, through aiosqlite.

DOMAIN.md §1: "the INS read at admission is stored locally beside the local patient id
(IPP)"; issue 6 item 3 lists what the record keeps. The connection settings are the
outbox's (``kiosk.storage.sqlite.configure``: WAL, ``synchronous=FULL``,
``busy_timeout``, a small WAL; FIELD-NOTES.md "SQLite outbox"), applied to a file of
its own with its own migrations, since ``database.migrate`` runs the outbox's list.

Status rule (decided here, README "Identity records"): a save whose RNIV status ranks
*lower* than the current one (PROV < RECUP, VALI < QUAL) never replaces it. The current
record stays; the lower observation is appended to the record's observation log with
its sources, and :attr:`StoredRecord.latest` shows it beside :attr:`StoredRecord.current`.
An equal or higher status replaces the current record. Taking a status away (a
doubtful attribute found later, RNIV) is the explicit :meth:`RecordStore.downgrade`,
with its reason in the log. Every save is logged.

The OID of every record saved or read is checked against the configured environment
(``check_oid_allowed``): a test file never feeds a production kiosk, nor the reverse.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from kiosk.domain.consent import InformationChannel, InformationGiven
from kiosk.domain.ins import (
    Identity,
    IdentityStatus,
    Ins,
    InsEnvironment,
    Sex,
    StrictTraits,
    check_oid_allowed,
)
from kiosk.domain.visibility import Visibility
from kiosk.errors import StorageError
from kiosk.locale import msg
from kiosk.records.record import DocumentState, IdentityRecord, KnownDmp, SentDocument, Source
from kiosk.storage.sqlite import Database, StorageName, iso, migrate

__all__ = ["SCHEMA_VERSION", "Observation", "RecordMissing", "RecordStore", "StoredRecord"]

T = TypeVar("T")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1 — the current record per INS, and the append-only log of every status observed.
    (
        """CREATE TABLE identity (
            matricule TEXT NOT NULL,
            oid TEXT NOT NULL,
            family_name TEXT NOT NULL,
            given_names TEXT NOT NULL,
            birth_date TEXT NOT NULL,
            sex TEXT NOT NULL CHECK (sex IN ('F', 'M')),
            birth_place TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('PROV', 'RECUP', 'VALI', 'QUAL')),
            sources TEXT NOT NULL,
            history TEXT NOT NULL,
            created_at TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            ipp TEXT,
            dmp_exists INTEGER,
            dmp_authorized INTEGER,
            PRIMARY KEY (matricule, oid)
        )""",
        """CREATE TABLE observation (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            matricule TEXT NOT NULL,
            oid TEXT NOT NULL,
            at TEXT NOT NULL,
            status TEXT NOT NULL,
            sources TEXT NOT NULL,
            applied INTEGER NOT NULL
        )""",
        "CREATE INDEX observation_ins ON observation (matricule, oid, seq)",
        """CREATE TRIGGER observation_no_update BEFORE UPDATE ON observation
            BEGIN SELECT RAISE(ABORT, 'observations are append-only'); END""",
    ),
    # 2 — why an explicit downgrade replaced a higher status (doubtful attribute…).
    ("ALTER TABLE observation ADD COLUMN reason TEXT",),
    # 3 — the DMP information given, apart from any consent (seed 001: information,
    # consent and creation "peuvent être déconnectés dans le temps"); append-only.
    (
        """CREATE TABLE information (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            matricule TEXT NOT NULL,
            oid TEXT NOT NULL,
            at TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('desk', 'kiosk', 'leaflet')),
            brochure INTEGER NOT NULL,
            brochure_version TEXT NOT NULL,
            given_by TEXT NOT NULL
        )""",
        "CREATE INDEX information_ins ON information (matricule, oid, seq)",
        """CREATE TRIGGER information_no_update BEFORE UPDATE ON information
            BEGIN SELECT RAISE(ABORT, 'information lines are append-only'); END""",
    ),
    # 4 — the documents this establishment sent (seed 000: their author alone deletes
    # them; the establishment's certificate may not search the DMP, so this is the list).
    (
        """CREATE TABLE sent_document (
            unique_id TEXT PRIMARY KEY,
            matricule TEXT NOT NULL,
            oid TEXT NOT NULL,
            entry_uuid TEXT NOT NULL,
            type_code TEXT NOT NULL,
            title TEXT NOT NULL,
            hidden_from TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('sent', 'deleted', 'withdrawn')),
            sent_at TEXT NOT NULL,
            sent_by TEXT NOT NULL
        )""",
        "CREATE INDEX sent_document_ins ON sent_document (matricule, oid, sent_at)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

_RANK = {
    IdentityStatus.PROV: 0,
    IdentityStatus.RECUP: 1,
    IdentityStatus.VALI: 1,
    IdentityStatus.QUAL: 2,
}

_SELECT = (
    "SELECT matricule, oid, family_name, given_names, birth_date, sex, birth_place, status, "
    "sources, history, created_at, checked_at, ipp, dmp_exists, dmp_authorized "
    "FROM identity WHERE matricule = ? AND oid = ?"
)
_INSERT = (
    "INSERT INTO identity (matricule, oid, family_name, given_names, birth_date, sex, "
    "birth_place, status, sources, history, created_at, checked_at, ipp) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class RecordMissing(StorageError):
    """No local identity record for this INS."""

    code = "RECORD_MISSING"


@dataclass(frozen=True)
class Observation:
    """One status the flow reported for an INS, and whether it became the current one."""

    at: datetime
    status: IdentityStatus
    sources: frozenset[Source]
    applied: bool
    reason: str | None = None
    """Set when an explicit :meth:`RecordStore.downgrade` replaced a higher status."""


@dataclass(frozen=True, repr=False)
class StoredRecord:
    """The current record of an INS, its DMP facts and its observation log (oldest first)."""

    current: IdentityRecord
    dmp: KnownDmp | None
    observations: tuple[Observation, ...]

    @property
    def latest(self) -> Observation:
        """The last status observed, which may rank below the current one."""
        return self.observations[-1]

    def __repr__(self) -> str:
        return (
            f"StoredRecord({self.current!r}, dmp={self.dmp!r}, "
            f"observations={len(self.observations)})"
        )


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _sources(text: str) -> frozenset[Source]:
    return frozenset(Source(part) for part in text.split(",") if part)


def _sources_text(sources: frozenset[Source]) -> str:
    return ",".join(sorted(s.value for s in sources))


_RECORDS = StorageName(msg("records.store.name"))


def _hidden_from(text: str) -> Visibility:
    return Visibility.hiding(text.split(",") if text else ())


def _migrate(conn: sqlite3.Connection) -> None:
    migrate(conn, migrations=MIGRATIONS, name=_RECORDS)


class RecordStore:
    """Identity records in SQLite; an ``IdentityStore`` and a ``DmpRecords`` at once."""

    def __init__(self, db: Database, environment: InsEnvironment) -> None:
        self._db = db
        self._environment = environment

    @classmethod
    async def open(
        cls,
        path: Path,
        environment: InsEnvironment,
        *,
        busy_timeout_ms: int = 5000,
        max_page_count: int | None = None,
    ) -> RecordStore:
        """Open (creating and migrating as needed) the records file at ``path``."""
        db = await Database.open(
            path,
            name=_RECORDS,
            prepare=_migrate,
            busy_timeout_ms=busy_timeout_ms,
            max_page_count=max_page_count,
        )
        return cls(db, environment)

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    async def save(self, record: IdentityRecord) -> None:
        """Keep ``record``; a lower status is logged but never replaces the current one."""
        await self._keep(record, None)

    async def downgrade(self, record: IdentityRecord, *, reason: str) -> None:
        """Replace the current record by a lower one, on purpose, saying why.

        RNIV: a doubtful or fictitious attribute found later takes the qualification
        away; that is a decision, so it is a separate call with its reason logged.
        """
        if not reason.strip():
            raise StorageError(
                msg("records.store.record_store_downgrade"),
                detail="downgrade_without_reason",
            )
        await self._keep(record, reason.strip())

    async def _keep(self, record: IdentityRecord, reason: str | None) -> None:
        ins = record.identity.ins
        if ins is None:
            raise StorageError(
                msg("records.store.record_store_keep"),
                detail="no_ins",
            )
        check_oid_allowed(ins.oid, self._environment)
        key = (ins.matricule.value, ins.oid)
        traits = record.identity.traits
        status = record.identity.status
        sources = _sources_text(record.sources)
        row = (
            *key,
            traits.birth_family_name,
            traits.given_names_joined,
            traits.birth_date.isoformat(),
            traits.sex.value,
            traits.birth_place,
            status.value,
            sources,
            json.dumps([[h.matricule.value, h.oid] for h in record.history]),
            iso(record.created_at),
            iso(record.checked_at),
            record.ipp,
        )

        def write(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT status, created_at FROM identity WHERE matricule = ? AND oid = ?", key
            ).fetchone()
            applied = (
                found is None
                or reason is not None
                or _RANK[status] >= _RANK[IdentityStatus(found[0])]
            )
            if found is None:
                conn.execute(_INSERT, row)
            elif applied:
                # The first admission's time stays; an IPP the site no longer sends is kept.
                conn.execute(
                    """UPDATE identity SET family_name = ?, given_names = ?, birth_date = ?,
                        sex = ?, birth_place = ?, status = ?, sources = ?, history = ?,
                        checked_at = ?, ipp = COALESCE(?, ipp)
                    WHERE matricule = ? AND oid = ?""",
                    (*row[2:10], row[11], row[12], *key),
                )
            conn.execute(
                "INSERT INTO observation (matricule, oid, at, status, sources, applied, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*key, iso(record.checked_at), status.value, sources, int(applied), reason),
            )

        await self._db.write(write)

    async def get(self, ins: Ins) -> StoredRecord | None:
        """The stored record of ``ins``, or None."""
        check_oid_allowed(ins.oid, self._environment)
        key = (ins.matricule.value, ins.oid)

        def read(conn: sqlite3.Connection) -> tuple[Any, list[Any]] | None:
            row = conn.execute(_SELECT, key).fetchone()
            if row is None:
                return None
            log = conn.execute(
                "SELECT at, status, sources, applied, reason FROM observation "
                "WHERE matricule = ? AND oid = ? ORDER BY seq",
                key,
            ).fetchall()
            return row, log

        found = await self._db.call(read)
        if found is None:
            return None
        row, log = found
        return StoredRecord(
            current=self._record(row),
            dmp=None if row[13] is None else KnownDmp(bool(row[13]), bool(row[14])),
            observations=tuple(
                Observation(_when(at), IdentityStatus(st), _sources(src), bool(applied), why)
                for at, st, src, applied, why in log
            ),
        )

    async def current(self, ins: Ins) -> IdentityRecord | None:
        """The current record of ``ins`` (an ``IdentityStore``'s earlier visit), or None.

        One row: unlike :meth:`get`, the observation log is not read.
        """
        check_oid_allowed(ins.oid, self._environment)
        key = (ins.matricule.value, ins.oid)
        row = await self._db.call(lambda conn: conn.execute(_SELECT, key).fetchone())
        return None if row is None else self._record(row)

    async def count(self) -> int:
        """How many patients have a local record."""
        row = await self._db.call(lambda c: c.execute("SELECT count(*) FROM identity").fetchone())
        return int(row[0])

    def _record(self, row: Any) -> IdentityRecord:
        check_oid_allowed(row[1], self._environment)
        ins = Ins.of(row[0], row[1])
        traits = StrictTraits.create(
            row[2], row[3], date.fromisoformat(row[4]), Sex(row[5]), row[6]
        )
        return IdentityRecord(
            identity=Identity(ins, traits, IdentityStatus(row[7])),
            sources=_sources(row[8]),
            history=tuple(Ins.of(m, o) for m, o in json.loads(row[9])),
            created_at=_when(row[10]),
            checked_at=_when(row[11]),
            ipp=row[12],
        )

    async def known(self, patient: Ins) -> KnownDmp | None:
        """What the local record knows of the patient's DMP (spares a TD0.2), or None."""
        stored = await self.get(patient)
        return None if stored is None else stored.dmp

    async def remember(self, patient: Ins, fact: KnownDmp) -> None:
        """Keep a DMP fact on the patient's record; the record must exist."""
        check_oid_allowed(patient.oid, self._environment)
        key = (patient.matricule.value, patient.oid)

        def write(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE identity SET dmp_exists = ?, dmp_authorized = ? "
                "WHERE matricule = ? AND oid = ?",
                (int(fact.exists), int(fact.authorized), *key),
            ).rowcount

        if await self._db.write(write) == 0:
            raise RecordMissing(
                msg("records.store.record_store_remember"),
                detail="dmp_fact_without_record",
            )

    async def inform(self, patient: Ins, given: InformationGiven) -> None:
        """Keep the information given to the patient, when and how; the record must exist.

        Kept apart from any consent, so consent can be taken at a later visit, or at
        the desk after the self-service kiosk informed the patient.
        """
        check_oid_allowed(patient.oid, self._environment)
        key = (patient.matricule.value, patient.oid)
        line = (
            *key,
            iso(given.at),
            given.channel.value,
            int(given.brochure),
            given.brochure_version,
            given.by,
        )

        def write(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT 1 FROM identity WHERE matricule = ? AND oid = ?", key
            ).fetchone()
            if found is None:
                return False
            conn.execute(
                "INSERT INTO information (matricule, oid, at, channel, brochure,"
                " brochure_version, given_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                line,
            )
            return True

        if not await self._db.write(write):
            raise RecordMissing(
                msg("records.store.record_store_inform"),
                detail="information_without_record",
            )

    async def informed(self, patient: Ins) -> InformationGiven | None:
        """The last information given to the patient, or None."""
        check_oid_allowed(patient.oid, self._environment)
        key = (patient.matricule.value, patient.oid)
        row = await self._db.call(
            lambda c: c.execute(
                "SELECT at, channel, brochure, brochure_version, given_by FROM information"
                " WHERE matricule = ? AND oid = ? ORDER BY seq DESC LIMIT 1",
                key,
            ).fetchone()
        )
        if row is None:
            return None
        at, channel, brochure, version, by = row
        return InformationGiven(
            brochure=bool(brochure),
            at=_when(at),
            channel=InformationChannel(channel),
            by=by,
            brochure_version=version,
        )

    async def remember_document(self, patient: Ins, document: SentDocument) -> None:
        """Keep a document this establishment sent (or its new visibility or state)."""
        check_oid_allowed(patient.oid, self._environment)
        row = (
            document.unique_id,
            patient.matricule.value,
            patient.oid,
            document.entry_uuid,
            document.type_code,
            document.title,
            ",".join(document.visibility.hidden_from()),
            document.state.value,
            iso(document.sent_at),
            document.sent_by,
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO sent_document VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (unique_id) DO UPDATE SET hidden_from = excluded.hidden_from,"
                " state = excluded.state",
                row,
            )

        await self._db.write(write)

    async def documents(self, patient: Ins) -> tuple[SentDocument, ...]:
        """The documents this establishment sent for the patient and has not taken back."""
        check_oid_allowed(patient.oid, self._environment)
        rows = await self._db.call(
            lambda c: c.execute(
                "SELECT unique_id, entry_uuid, type_code, title, hidden_from, state, sent_at,"
                " sent_by FROM sent_document WHERE matricule = ? AND oid = ? AND state = 'sent'"
                " ORDER BY sent_at, rowid",
                (patient.matricule.value, patient.oid),
            ).fetchall()
        )
        return tuple(
            SentDocument(u, e, t, title, _hidden_from(h), DocumentState(st), _when(at), by)
            for u, e, t, title, h, st, at, by in rows
        )
