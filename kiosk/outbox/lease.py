"""The worker's side of the outbox: leases, crash recovery, outcomes and dead letters."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from kiosk.audit import store as audit
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.locale import msg
from kiosk.outbox.file import OutboxFile, aad_for
from kiosk.outbox.ports import PayloadTampered
from kiosk.storage.sqlite import iso, storage_error

__all__ = ["WORKER_CRASH", "LeasedRow", "Leases", "Recovered", "backlog", "sending_now"]

WORKER_CRASH = "WORKER_CRASH"
"""The dead-letter code of a row in flight each time a worker died (a poison row)."""


@dataclass(frozen=True)
class Recovered:
    """What a worker found in flight after another one died."""

    requeued: int
    dead: int


@dataclass(frozen=True)
class LeasedRow:
    """A row taken by a worker, still sealed."""

    seq: int
    id: uuid.UUID
    idempotency_key: str
    kind: str
    attempts: int
    faults: int
    sealed: bytes | None = field(repr=False)
    signature: bytes | None = field(repr=False)
    signer_id: str
    signer_cert: bytes | None = field(repr=False)


class Leases(OutboxFile):
    """Rows taken by a worker and what became of them; every change has its audit line."""

    async def recover(
        self, *, max_crashes: int | None = None, delay_s: Callable[[int], float] | None = None
    ) -> Recovered:
        """Take back every in-flight row: called by a worker that holds the lock.

        A row in flight when a worker died counts one crash. It is due again after
        ``delay_s(crashes)``, so the rows behind it go first; at ``max_crashes`` it goes
        to dead letters (:data:`WORKER_CRASH`) instead of stopping every worker after
        it. An operator can still retry it.
        """
        now = self._now()

        def job(conn: sqlite3.Connection) -> Recovered:
            return self._requeue_orphans(
                conn, now, "state = 'in_flight'", (), max_crashes, delay_s, "worker restart"
            )

        return await self._write(job)

    def _requeue_orphans(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        where: str,
        params: Sequence[object],
        max_crashes: int | None,
        delay_s: Callable[[int], float] | None,
        reason: str,
    ) -> Recovered:
        orphans = conn.execute(
            f"SELECT seq, id, kind, crashes + 1, signer_id FROM outbox WHERE {where}",  # noqa: S608 - fixed clauses
            tuple(params),
        ).fetchall()
        requeued, dead = 0, 0
        for seq, row_id, kind, crashes, signer_id in orphans:
            if max_crashes is not None and crashes >= max_crashes:
                dead += 1
                conn.execute(
                    "UPDATE outbox SET state = 'dead', crashes = ?, last_error = ?,"
                    " lease_owner = NULL, lease_expires_at = NULL WHERE seq = ?",
                    (crashes, WORKER_CRASH, seq),
                )
                audit.append(
                    conn,
                    AuditEvent(
                        at=now,
                        kind=AuditKind.OUTBOX_DEAD,
                        actor=signer_id,
                        subject=row_id,
                        details={
                            "code": WORKER_CRASH,
                            "crashes": str(crashes),
                            "kind": kind,
                            "reason": "a worker stopped each time it sent this item",
                        },
                    ),
                )
                continue
            requeued += 1
            delay = delay_s(crashes) if delay_s is not None else 0.0
            conn.execute(
                "UPDATE outbox SET state = 'pending', crashes = ?, next_attempt_at = ?,"
                " lease_owner = NULL, lease_expires_at = NULL WHERE seq = ?",
                (crashes, iso(now + timedelta(seconds=delay)), seq),
            )
        if requeued:
            audit.append(
                conn,
                AuditEvent(
                    at=now,
                    kind=AuditKind.OUTBOX_REQUEUED,
                    details={"count": str(requeued), "reason": reason},
                ),
            )
        return Recovered(requeued=requeued, dead=dead)

    async def lease(
        self,
        owner: str,
        *,
        lease_s: float,
        include_bulk: bool,
        bulk_kinds: Sequence[str] = (),
        limit: int = 1,
        max_crashes: int | None = None,
        delay_s: Callable[[int], float] | None = None,
    ) -> list[LeasedRow]:
        """Take the oldest due pending rows; expired leases first return to pending.

        Outside the off-hours window (``include_bulk=False``) rows enqueued as bulk and
        rows of ``bulk_kinds`` are left waiting. An expired lease is a lost worker: its
        row is taken back as :meth:`recover` does.
        """
        kinds = json.dumps(list(bulk_kinds))
        now = self._now()
        stamp = iso(now)
        expires = iso(now + timedelta(seconds=lease_s))

        def job(conn: sqlite3.Connection) -> list[LeasedRow]:
            self._requeue_orphans(
                conn,
                now,
                "state = 'in_flight' AND lease_expires_at < ?",
                (stamp,),
                max_crashes,
                delay_s,
                "lease expired",
            )
            rows = conn.execute(
                "UPDATE outbox SET state = 'in_flight', lease_owner = ?, lease_expires_at = ?,"
                " attempted_at = ?, attempts = attempts + 1"
                " WHERE seq IN (SELECT seq FROM outbox WHERE state = 'pending'"
                " AND next_attempt_at <= ? AND (? OR (bulk = 0 AND kind NOT IN"
                " (SELECT value FROM json_each(?)))) ORDER BY seq LIMIT ?)"
                " RETURNING seq, id, idempotency_key, kind, attempts, faults, payload,"
                " signature, signer_id, signer",
                (owner, expires, stamp, stamp, int(include_bulk), kinds, limit),
            ).fetchall()
            return sorted(
                (
                    LeasedRow(
                        seq=r[0],
                        id=uuid.UUID(r[1]),
                        idempotency_key=r[2],
                        kind=r[3],
                        attempts=r[4],
                        faults=r[5],
                        sealed=r[6],
                        signature=r[7],
                        signer_id=r[8],
                        signer_cert=self._signer_der(conn, r[9]),
                    )
                    for r in rows
                ),
                key=lambda row: row.seq,
            )

        return await self._write(job)

    def unseal(self, row: LeasedRow) -> bytes:
        """The plaintext of a leased row; :class:`PayloadTampered` if it does not open."""
        if row.sealed is None:
            raise PayloadTampered(msg("outbox.lease.leases_unseal"))
        return self._key.open(row.sealed, aad_for(str(row.id), row.kind, row.idempotency_key))

    async def mark_done(self, row: LeasedRow, *, remote_id: str, duplicate: bool) -> bool:
        """Record the acknowledgement and purge the personal payload, keeping an audit line."""
        now = self._now()
        details = {
            "attempts": str(row.attempts),
            "duplicate": "yes" if duplicate else "no",
            "kind": row.kind,
            "payload": "purged",
            "remote_id": remote_id,
        }
        return bool(
            await self._change(
                "UPDATE outbox SET state = 'done', acked_at = ?, remote_id = ?, payload = NULL,"
                " signature = NULL, lease_owner = NULL, lease_expires_at = NULL,"
                " last_error = NULL WHERE seq = ? AND id = ? AND state IN ('pending', 'in_flight')",
                (iso(now), remote_id, row.seq, str(row.id)),
                lambda _: AuditEvent(
                    now, AuditKind.OUTBOX_ACKED, row.signer_id, str(row.id), details
                ),
            )
        )

    async def mark_retry(
        self, row: LeasedRow, owner: str, *, error: str, delay_s: float, answered: bool
    ) -> bool:
        """Back to pending after ``delay_s``; an answered fault counts against the row."""
        now = self._now()
        due = iso(now + timedelta(seconds=delay_s))
        details = {"attempts": str(row.attempts), "code": error, "delay_s": f"{delay_s:.3f}"}
        return bool(
            await self._change(
                "UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,"
                " last_error = ?, next_attempt_at = ?, faults = faults + ?"
                " WHERE seq = ? AND id = ? AND state = 'in_flight' AND lease_owner = ?",
                (error, due, int(answered), row.seq, str(row.id), owner),
                # An outage is not the row's doing: only answered faults are audited.
                lambda _: (
                    AuditEvent(now, AuditKind.OUTBOX_RETRY, "", str(row.id), details)
                    if answered
                    else None
                ),
            )
        )

    async def mark_dead(self, row: LeasedRow, owner: str, *, error: str, reason: str) -> bool:
        """Move to dead letters with the fault code; nothing more is sent for this row."""
        now = self._now()
        details = {"code": error, "kind": row.kind, "reason": reason}
        return bool(
            await self._change(
                "UPDATE outbox SET state = 'dead', lease_owner = NULL, lease_expires_at = NULL,"
                " last_error = ? WHERE seq = ? AND id = ? AND state = 'in_flight'"
                " AND lease_owner = ?",
                (error, row.seq, str(row.id), owner),
                lambda _: AuditEvent(
                    now, AuditKind.OUTBOX_DEAD, row.signer_id, str(row.id), details
                ),
            )
        )


def sending_now(path: Path, now: datetime) -> int:
    """Rows a live worker holds in flight now (its lease not yet expired), read-only.

    Blocking, one query, never a write lock: for the updater, which must not restart
    the system while a DMP write is mid-send (issue 20). No file yet: none.
    """
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute(
                "SELECT count(*) FROM outbox WHERE state = 'in_flight' AND lease_expires_at >= ?",
                (iso(now),),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    return int(row[0])


def backlog(path: Path, now: datetime) -> tuple[int, float]:
    """Rows not yet acknowledged and the age of the oldest (s), read-only: numbers only.

    For the fleet's view of this kiosk; opens no key and reads no payload.
    """
    if not path.exists():
        return 0, 0.0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            count, oldest = conn.execute(
                "SELECT count(*), min(created_at) FROM outbox"
                " WHERE state IN ('pending', 'in_flight')"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    age = 0.0 if oldest is None else (now - datetime.fromisoformat(oldest)).total_seconds()
    return int(count), max(0.0, age)
