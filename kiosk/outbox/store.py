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

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.clock import Clock, uuid7
from kiosk.outbox.admin import OperatorActions
from kiosk.outbox.file import aad_for, signed_bytes
from kiosk.outbox.lease import Leases
from kiosk.outbox.ports import DeviceKey
from kiosk.signing import Signer
from kiosk.storage.sqlite import OUTBOX, Database, iso, migrate

__all__ = ["Enqueued", "OutboxStore", "Statement"]

Statement = tuple[str, Sequence[object]]
"""One SQL statement of the business change and its parameters."""


@dataclass(frozen=True)
class Enqueued:
    """The committed row; ``created`` is False when the action was already queued."""

    id: uuid.UUID
    idempotency_key: str
    created: bool


class OutboxStore(Leases, OperatorActions):
    """The outbox: enqueue here, leases (``lease.py``) and operator actions (``admin.py``)."""

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
