"""The audit chain's table: append inside the caller's transaction, read, verify, export.

The table lives in the outbox file (``kiosk/outbox/database.py`` migration 3) so an
enqueue and its audit line commit or vanish together. Appends are synchronous
functions on an open ``sqlite3.Connection`` because they always run inside a write
transaction on the outbox's connection thread; reading for ``kiosk audit verify``
and ``export`` uses a connection of its own, in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from kiosk.domain.audit import (
    AuditEvent,
    AuditRecord,
    ChainReport,
    canonical,
    chain,
    verify_chain,
)
from kiosk.errors import NotFound
from kiosk.outbox.database import connect, migrate, storage_error

__all__ = ["AuditLog", "append", "read_records", "recorded_head"]


def append(conn: sqlite3.Connection, event: AuditEvent) -> AuditRecord:
    """Chain ``event`` after the head; the caller holds the write transaction."""
    seq, head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    record = chain(int(seq) + 1, event, str(head))
    conn.execute(
        "INSERT INTO audit (seq, at, kind, actor, subject, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.seq,
            event.at.isoformat(timespec="microseconds"),
            str(event.kind),
            event.actor,
            event.subject,
            json.dumps(dict(event.details), sort_keys=True, ensure_ascii=False),
            record.prev_hash,
            record.hash,
        ),
    )
    conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (record.seq, record.hash))
    return record


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


class AuditLog:
    """Read-side of the chain for the CLI: verify and export, off the event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _open(self) -> sqlite3.Connection:
        if not self._path.exists():
            raise NotFound(
                f"Aucun journal d'audit : {self._path} n'existe pas.",
                f"No audit trail: {self._path} does not exist.",
            )
        conn = connect(self._path)
        try:
            migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(exc, self._path) from exc
        return conn

    def _verify(self) -> ChainReport:
        conn = self._open()
        try:
            # One read transaction: the head and the rows are one consistent snapshot.
            conn.execute("BEGIN")
            head = recorded_head(conn)
            report = verify_chain(read_records(conn), recorded_head=head)
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

    async def verify(self) -> ChainReport:
        """Check every link and the recorded head."""
        return await asyncio.to_thread(self._verify)

    async def export_lines(self) -> list[str]:
        """One JSON object per event (personal data already masked at recording)."""
        return await asyncio.to_thread(self._export)
