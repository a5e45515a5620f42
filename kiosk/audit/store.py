"""The audit chain's table: append inside the caller's transaction, read, verify, export.

The table lives in the outbox file (``kiosk/storage/sqlite.py`` migration 3) so a
change and its audit line commit or vanish together. Appends are synchronous
functions on an open ``sqlite3.Connection`` because they always run inside a write
transaction on the outbox's connection thread; reading for ``kiosk audit verify``
and ``export`` uses a connection of its own, in a worker thread.

An enqueue is the exception (migration 5): it commits its row alone, and its line,
which holds nothing the row does not (when, who, which row, kind and key), is
derived from the committed row by :func:`chain_owed`. Every other write runs that
first, the outbox runs it within a second of an enqueue, and ``verify`` and
``export`` run it before reading: a committed enqueue is never missing from the
chain, and its line always comes before any later event's.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from kiosk.domain.audit import (
    AuditEvent,
    AuditKind,
    AuditRecord,
    ChainReport,
    canonical,
    chain,
    verify_chain,
)
from kiosk.errors import NotFound
from kiosk.locale import msg
from kiosk.storage.sqlite import connect, migrate, storage_error

__all__ = [
    "AuditLog",
    "append",
    "append_all",
    "chain_owed",
    "read_records",
    "rebase_owed",
    "recorded_head",
]


_CHAIN_BATCH = 500


def append(conn: sqlite3.Connection, event: AuditEvent) -> AuditRecord:
    """Chain ``event`` after the head; the caller holds the write transaction."""
    return append_all(conn, [event])[-1]


def append_all(conn: sqlite3.Connection, events: Iterable[AuditEvent]) -> list[AuditRecord]:
    """Chain ``events`` in order after the head: the head is read and moved once."""
    seq, head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    records: list[AuditRecord] = []
    for event in events:
        record = chain(int(seq) + 1, event, str(head))
        records.append(record)
        seq, head = record.seq, record.hash
    conn.executemany(
        "INSERT INTO audit (seq, at, kind, actor, subject, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r.seq,
                r.event.at_text,
                str(r.event.kind),
                r.event.actor,
                r.event.subject,
                r.event.details_text,
                r.prev_hash,
                r.hash,
            )
            for r in records
        ],
    )
    conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, head))
    return records


def chain_owed(conn: sqlite3.Connection) -> int:
    """Chain the enqueue line of every outbox row committed since the last one chained.

    The caller holds the write transaction and calls this before appending anything
    else, so the chain keeps commit order. Returns how many lines were appended.
    """
    (upto,) = conn.execute("SELECT outbox_seq FROM audit_head WHERE id = 1").fetchone()
    owed = conn.execute(
        "SELECT seq, id, kind, idempotency_key, signer_id, created_at FROM outbox"
        " WHERE seq > ? ORDER BY seq",
        (upto,),
    )
    count = 0
    # In bounded batches: after a long run without writes, memory stays flat.
    while batch := owed.fetchmany(_CHAIN_BATCH):
        append_all(conn, (_enqueue_line(*row[1:]) for row in batch))
        count += len(batch)
        upto = batch[-1][0]
    if count:
        conn.execute("UPDATE audit_head SET outbox_seq = ? WHERE id = 1", (upto,))
    return count


def _enqueue_line(row_id: str, kind: str, key: str, actor: str, created_at: str) -> AuditEvent:
    details = {"kind": kind, "key": key}
    try:
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None:
            raise ValueError(created_at)
    except (TypeError, ValueError):
        # A damaged timestamp must not stop every later write: the line says so instead.
        at = datetime.now(UTC)
        details["created_at_unreadable"] = str(created_at)[:64]
    return AuditEvent(
        at=at, kind=AuditKind.OUTBOX_ENQUEUED, actor=actor, subject=row_id, details=details
    )


def rebase_owed(conn: sqlite3.Connection) -> None:
    """After outbox rows were deleted (their lines already chained).

    ``seq`` has no AUTOINCREMENT: once the newest rows are deleted, the next row takes
    their number again, and must still count as owed.
    """
    conn.execute(
        "UPDATE audit_head SET outbox_seq = (SELECT COALESCE(MAX(seq), 0) FROM outbox) WHERE id = 1"
    )


def read_records(conn: sqlite3.Connection) -> Iterator[AuditRecord]:
    """Every stored record in ``seq`` order, as stored (no check)."""
    cursor = conn.execute(
        "SELECT seq, at, kind, actor, subject, details, prev_hash, hash FROM audit ORDER BY rowid"
    )
    for seq, at, kind, actor, subject, details, prev_hash, digest in cursor:
        event = AuditEvent(
            at=datetime.fromisoformat(at),
            kind=kind,
            actor=actor,
            subject=subject,
            details=json.loads(details),
        )
        yield AuditRecord(seq=int(seq), event=event, prev_hash=prev_hash, hash=digest)


def recorded_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last (seq, hash) written by :func:`append`."""
    seq, digest = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    return int(seq), str(digest)


def _observed(
    records: Iterable[AuditRecord], observer: Callable[[AuditRecord], None]
) -> Iterator[AuditRecord]:
    for record in records:
        observer(record)
        yield record


class AuditLog:
    """Read-side of the chain for the CLI: verify and export, off the event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _open(self) -> sqlite3.Connection:
        if not self._path.exists():
            raise NotFound(
                msg("audit.store.audit_log_open", path=self._path),
            )
        conn = connect(self._path)
        try:
            migrate(conn)
            # Enqueues not yet chained are chained now: the chain read is complete.
            conn.execute("BEGIN IMMEDIATE")
            chain_owed(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(exc, self._path) from exc
        return conn

    def _verify(self, observer: Callable[[AuditRecord], None] | None = None) -> ChainReport:
        conn = self._open()
        try:
            # One read transaction: the head and the rows are one consistent snapshot.
            conn.execute("BEGIN")
            head = recorded_head(conn)
            records = read_records(conn)
            if observer is not None:
                records = _observed(records, observer)
            report = verify_chain(records, recorded_head=head)
            conn.execute("COMMIT")
            return report
        except sqlite3.Error as exc:
            raise storage_error(exc, self._path) from exc
        finally:
            conn.close()

    def _export(self) -> list[str]:
        conn = self._open()
        try:
            return [
                json.dumps(
                    {**json.loads(canonical(r.seq, r.event, r.prev_hash)), "hash": r.hash},
                    sort_keys=True,
                    ensure_ascii=False,
                )
                for r in read_records(conn)
            ]
        except sqlite3.Error as exc:
            raise storage_error(exc, self._path) from exc
        finally:
            conn.close()

    async def verify(self, observer: Callable[[AuditRecord], None] | None = None) -> ChainReport:
        """Check every link and the recorded head.

        ``observer`` sees each record as it is read, in one pass with the check: what it
        computed holds only if the report says ``ok`` (the indicators are made so).
        """
        return await asyncio.to_thread(self._verify, observer)

    async def export_lines(self) -> list[str]:
        """One JSON object per event (personal data already masked at recording)."""
        return await asyncio.to_thread(self._export)
