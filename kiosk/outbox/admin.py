"""The operator's side of the outbox: status, listing, retry and purge (``kiosk outbox``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kiosk.audit import store as audit
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.errors import NotFound
from kiosk.locale import msg
from kiosk.outbox.file import OutboxFile
from kiosk.storage.sqlite import iso

__all__ = ["STATES", "OperatorActions", "OutboxStatus", "RowSummary"]

STATES = ("pending", "in_flight", "done", "dead")


@dataclass(frozen=True)
class RowSummary:
    """What ``kiosk outbox list`` shows: no payload, ever."""

    id: str
    idempotency_key: str
    kind: str
    state: str
    attempts: int
    created_at: str
    next_attempt_at: str
    last_error: str | None
    signer_id: str


@dataclass(frozen=True)
class OutboxStatus:
    """Counts per state, age of the oldest pending row, next scheduled attempt."""

    counts: dict[str, int]
    oldest_pending_age_s: float | None
    next_attempt_at: str | None


class OperatorActions(OutboxFile):
    """What an operator (or the flow, for one row) reads and changes; never a payload."""

    async def status(self) -> OutboxStatus:
        """Counts per state, oldest pending age and the next scheduled attempt."""

        def job(conn: sqlite3.Connection) -> OutboxStatus:
            counts = dict.fromkeys(STATES, 0)
            for state, count in conn.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
                counts[state] = int(count)
            oldest, nxt = conn.execute(
                "SELECT min(created_at), min(next_attempt_at) FROM outbox"
                " WHERE state IN ('pending', 'in_flight')"
            ).fetchone()
            age = None
            if oldest is not None:
                age = max(0.0, (self._now() - datetime.fromisoformat(oldest)).total_seconds())
            return OutboxStatus(counts, age, nxt)

        return await self._db.call(job)

    async def rows(self, *, state: str | None = None, limit: int = 100) -> list[RowSummary]:
        """The oldest ``limit`` rows, optionally of one state; never a payload."""

        def job(conn: sqlite3.Connection) -> list[RowSummary]:
            cursor = conn.execute(
                "SELECT id, idempotency_key, kind, state, attempts, created_at,"
                " next_attempt_at, last_error, signer_id FROM outbox"
                " WHERE (? IS NULL OR state = ?) ORDER BY seq LIMIT ?",
                (state, state, limit),
            )
            return [RowSummary(*row) for row in cursor]

        return await self._db.call(job)

    async def row(self, idempotency_key: str) -> RowSummary | None:
        """The row queued under ``idempotency_key`` (a unique column), or None; no payload."""

        def job(conn: sqlite3.Connection) -> RowSummary | None:
            found = conn.execute(
                "SELECT id, idempotency_key, kind, state, attempts, created_at,"
                " next_attempt_at, last_error, signer_id FROM outbox WHERE idempotency_key = ?",
                (idempotency_key,),
            ).fetchone()
            return None if found is None else RowSummary(*found)

        return await self._db.call(job)

    async def position(self, idempotency_key: str) -> int | None:
        """Where the row of ``idempotency_key`` stands in the queue (1 = next), or None.

        Counted among the rows still to send (pending or in flight) queued before it,
        itself included; None when the row is sent, dead or unknown.
        """

        def job(conn: sqlite3.Connection) -> int | None:
            found = conn.execute(
                "SELECT seq FROM outbox WHERE idempotency_key = ?"
                " AND state IN ('pending', 'in_flight')",
                (idempotency_key,),
            ).fetchone()
            if found is None:
                return None
            (ahead,) = conn.execute(
                "SELECT count(*) FROM outbox WHERE seq <= ? AND state IN ('pending', 'in_flight')",
                (found[0],),
            ).fetchone()
            return int(ahead)

        return await self._db.call(job)

    def _requeued(self, reason: str, subject: str = "") -> Callable[[int], AuditEvent]:
        return lambda count: AuditEvent(
            self._now(),
            AuditKind.OUTBOX_REQUEUED,
            subject=subject,
            details={"count": str(count), "reason": reason},
        )

    async def retry(self, row_id: str) -> None:
        """Put one dead (or waiting) row back in the queue now."""
        # Found by id without an index (migration 4): an operator's rare command.
        if not await self._change(
            "UPDATE outbox SET state = 'pending', faults = 0, crashes = 0, next_attempt_at = ?"
            " WHERE id = ? AND state IN ('dead', 'pending') AND payload IS NOT NULL",
            (iso(self._now()), row_id),
            self._requeued("operator retry", subject=row_id),
        ):
            raise NotFound(
                msg("outbox.admin.operator_actions_retry", row_id=row_id),
            )

    async def retry_dead(self) -> int:
        """Put every dead row back in the queue; return how many."""
        return await self._change(
            "UPDATE outbox SET state = 'pending', faults = 0, crashes = 0, next_attempt_at = ?"
            " WHERE state = 'dead' AND payload IS NOT NULL",
            (iso(self._now()),),
            self._requeued("operator retry of dead letters"),
        )

    async def purge_done(self) -> int:
        """Delete acknowledged rows (their audit lines stay); return how many."""
        now = self._now()

        def job(conn: sqlite3.Connection) -> int:
            count = int(conn.execute("DELETE FROM outbox WHERE state = 'done'").rowcount)
            audit.rebase_owed(conn)
            if count:
                line = AuditEvent(now, AuditKind.OUTBOX_PURGED, details={"count": str(count)})
                audit.append(conn, line)
            return count

        return await self._write(job)

    async def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check`` answer (``ok`` when sound)."""
        return await self._db.call(
            lambda conn: str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        )
