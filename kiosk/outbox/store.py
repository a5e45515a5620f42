"""The durable outbox (ARCHITECTURE.md §6): encrypted, signed rows in SQLite via aiosqlite.

One writer connection per process. Every write is one function run on aiosqlite's
connection thread, wrapping ``BEGIN IMMEDIATE … COMMIT`` around all its statements:
aiosqlite costs one thread hop per awaited statement (FIELD-NOTES.md), so an enqueue
(row + business statements) is one hop, not several. :meth:`enqueue` returns only
after COMMIT with ``synchronous=FULL``: what it acknowledged survives a power cut.

An enqueue's audit line is derived from its committed row and chained by the next
write, at the latest ``audit_lag_s`` later (``kiosk/audit/store.py``
``chain_owed``): two pages fewer to write and sync while the agent waits, and fewer
pages overall, since the next write touches the chain's last page anyway.

Each payload is sealed with AES-GCM under the device key; the associated data binds
it to its row id, kind and idempotency key, so a payload copied onto another row no
longer opens. The detached signature, made at enqueue with the acting identity's
key, covers the same binding plus the plaintext; the sync worker checks both before
anything leaves the kiosk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.audit import store as audit
from kiosk.clock import Clock, uuid7
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.errors import NotFound, StorageError
from kiosk.outbox.ports import DeviceKey, PayloadTampered
from kiosk.signing import Signer
from kiosk.storage.sqlite import OUTBOX, Database, iso, migrate

__all__ = [
    "STATES",
    "WORKER_CRASH",
    "Enqueued",
    "LeasedRow",
    "OutboxStatus",
    "OutboxStore",
    "Recovered",
    "RowSummary",
    "Statement",
    "aad_for",
    "signed_bytes",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Statement = tuple[str, Sequence[object]]
"""One SQL statement of the business change and its parameters."""

STATES = ("pending", "in_flight", "done", "dead")

WORKER_CRASH = "WORKER_CRASH"
"""The dead-letter code of a row in flight each time a worker died (a poison row)."""


def aad_for(row_id: str, kind: str, key: str) -> bytes:
    """The AES-GCM associated data: the row's identity, so a payload cannot be moved."""
    return b"\x00".join((b"kiosk-outbox-v1", row_id.encode(), kind.encode(), key.encode()))


def signed_bytes(row_id: str, kind: str, key: str, payload: bytes) -> bytes:
    """What the detached signature covers: the row's identity and the plaintext."""
    return aad_for(row_id, kind, key) + b"\x00" + payload


@dataclass(frozen=True)
class Enqueued:
    """The committed row; ``created`` is False when the action was already queued."""

    id: uuid.UUID
    idempotency_key: str
    created: bool


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


class OutboxStore:
    """The outbox file, through one aiosqlite writer connection."""

    def __init__(
        self, db: Database, key: DeviceKey, clock: Clock, *, audit_lag_s: float = 1.0
    ) -> None:
        self._db = db
        self._key = key
        self._clock = clock
        self._audit_lag_s = audit_lag_s
        self._chain_pending = False
        self._chainers: set[asyncio.Task[None]] = set()
        self._ders: dict[x509.Certificate, bytes] = {}
        # Committed ``signers`` rows never change, so both directions can be remembered.
        self._signer_refs: dict[bytes, int] = {}
        self._signer_ders: dict[int, bytes] = {}

    @classmethod
    async def open(
        cls,
        path: Path,
        key: DeviceKey,
        clock: Clock,
        *,
        busy_timeout_ms: int = 5000,
        max_page_count: int | None = None,
        audit_lag_s: float = 1.0,
    ) -> OutboxStore:
        """Open (creating and migrating as needed) the outbox at ``path``.

        ``audit_lag_s`` bounds how long an enqueue's audit line may wait for the next
        write before the store chains it itself.
        """
        db = await Database.open(
            path,
            name=OUTBOX,
            prepare=migrate,
            busy_timeout_ms=busy_timeout_ms,
            max_page_count=max_page_count,
        )
        return cls(db, key, clock, audit_lag_s=audit_lag_s)

    @property
    def path(self) -> Path:
        """Where the file is."""
        return self._db.path

    async def close(self) -> None:
        """Chain what is owed, then close (a WAL checkpoint happens on the last close)."""
        for task in list(self._chainers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._chain_logged()
        await self._db.close()

    async def chain_owed(self) -> int:
        """Chain the audit lines of enqueues not chained yet; return how many."""
        return await self._db.write(audit.chain_owed)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A write transaction that first chains owed enqueue lines (commit order)."""

        def chained(conn: sqlite3.Connection) -> T:
            audit.chain_owed(conn)
            return fn(conn)

        return await self._db.write(chained)

    def _chain_soon(self) -> None:
        if not self._chain_pending:
            self._chain_pending = True
            task = asyncio.get_running_loop().create_task(self._chain_later())
            self._chainers.add(task)
            task.add_done_callback(self._chainers.discard)

    async def _chain_later(self) -> None:
        try:
            await asyncio.sleep(self._audit_lag_s)
        finally:
            self._chain_pending = False  # an enqueue committed from now on schedules its own
        await self._chain_logged()

    async def _chain_logged(self) -> None:
        try:
            await self.chain_owed()
        except StorageError as exc:
            # Disk full, I/O error: the lines stay owed in the file; the next write, or
            # ``kiosk audit verify``, chains them.
            log.error("audit.chain_owed", extra={"code": exc.code, "detail": exc.detail})

    def _der(self, signer: Signer) -> bytes:
        # Serialising the certificate costs ~10 µs; a kiosk has a handful of signers.
        cert = signer.certificate
        der = self._ders.get(cert)
        if der is None:
            der = cert.public_bytes(Encoding.DER)
            self._ders[cert] = der
        return der

    def _now(self) -> datetime:
        return self._clock.now()

    def _signer_ref(self, conn: sqlite3.Connection, der: bytes) -> tuple[int, bool]:
        """The ``signers`` row of ``der`` (inside the write transaction); True if remembered."""
        ref = self._signer_refs.get(der)
        if ref is not None:
            return ref, True
        conn.execute(
            "INSERT INTO signers (certificate) VALUES (?) ON CONFLICT (certificate) DO NOTHING",
            (der,),
        )
        (ref,) = conn.execute("SELECT id FROM signers WHERE certificate = ?", (der,)).fetchone()
        return int(ref), False

    def _signer_der(self, conn: sqlite3.Connection, ref: int | None) -> bytes | None:
        if ref is None:
            return None
        der = self._signer_ders.get(ref)
        if der is None:
            found = conn.execute("SELECT certificate FROM signers WHERE id = ?", (ref,)).fetchone()
            if found is None:
                return None
            der = self._signer_ders[ref] = bytes(found[0])
        return der

    # --- producers -------------------------------------------------------------

    async def enqueue(
        self,
        *,
        kind: str,
        idempotency_key: str,
        payload: bytes,
        signer: Signer,
        statements: Sequence[Statement] = (),
        bulk: bool = False,
    ) -> Enqueued:
        """Seal, sign and store one item with the business change; return after COMMIT.

        An action already queued (same idempotency key) is not queued again and its
        business statements are not replayed: the whole transaction is rolled back.
        """
        row_id = str(uuid7(self._clock))
        now = iso(self._now())
        actor = signer.identity.national_id

        def job(conn: sqlite3.Connection) -> Enqueued:
            # Sign and seal before taking the write lock: a card signature is slow.
            signature = signer.sign(signed_bytes(row_id, kind, idempotency_key, payload))
            sealed = self._key.seal(payload, aad_for(row_id, kind, idempotency_key))
            der = self._der(signer)
            conn.execute("BEGIN IMMEDIATE")
            try:
                ref, remembered = self._signer_ref(conn, der)
                inserted = conn.execute(
                    "INSERT INTO outbox (id, idempotency_key, kind, created_at,"
                    " next_attempt_at, key_id, payload, signature, signer_id, signer, bulk)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (idempotency_key) DO NOTHING",
                    (
                        row_id,
                        idempotency_key,
                        kind,
                        now,
                        now,
                        self._key.key_id,
                        sealed,
                        signature,
                        actor,
                        ref,
                        int(bulk),
                    ),
                ).rowcount
                if not inserted:
                    existing = conn.execute(
                        "SELECT id FROM outbox WHERE idempotency_key = ?", (idempotency_key,)
                    ).fetchone()
                    conn.execute("ROLLBACK")
                    return Enqueued(uuid.UUID(existing[0]), idempotency_key, created=False)
                for sql, params in statements:
                    conn.execute(sql, tuple(params))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if not remembered:
                self._signer_refs[der] = ref
            return Enqueued(uuid.UUID(row_id), idempotency_key, created=True)

        enqueued = await self._db.call(job)
        if enqueued.created:
            self._chain_soon()
        return enqueued

    async def record(self, event: AuditEvent) -> None:
        """Append one audit event on its own (card, login, print…)."""
        await self._write(lambda conn: audit.append(conn, event))

    # --- the worker ------------------------------------------------------------

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
            raise PayloadTampered("Contenu absent.", "Payload missing.")
        return self._key.open(row.sealed, aad_for(str(row.id), row.kind, row.idempotency_key))

    async def _change(
        self,
        sql: str,
        params: Sequence[object],
        event: Callable[[int], AuditEvent | None],
    ) -> int:
        """One UPDATE or DELETE and, when it changed rows, its audit line: one transaction."""

        def job(conn: sqlite3.Connection) -> int:
            count = int(conn.execute(sql, tuple(params)).rowcount)
            line = event(count) if count else None
            if line is not None:
                audit.append(conn, line)
            return count

        return await self._write(job)

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

    # --- the operator ----------------------------------------------------------

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
                f"Aucun élément à relancer avec l'identifiant {row_id}.",
                f"No item to retry with id {row_id}.",
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
