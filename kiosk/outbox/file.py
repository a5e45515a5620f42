"""The outbox file under the store's three faces: its connection, audit chaining, signers.

:class:`OutboxFile` holds what enqueue (``store.py``), the worker's leases
(``lease.py``) and the operator's actions (``admin.py``) share: the one writer
connection, the audit lines an enqueue owes and chains by the next write, the
``signers`` references, and the payload binding its seal and signature cover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.audit import store as audit
from kiosk.clock import Clock
from kiosk.domain.audit import AuditEvent
from kiosk.errors import StorageError
from kiosk.outbox.ports import DeviceKey
from kiosk.signing import Signer
from kiosk.storage.sqlite import Database

__all__ = ["OutboxFile", "aad_for", "signed_bytes"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def aad_for(row_id: str, kind: str, key: str) -> bytes:
    """The AES-GCM associated data: the row's identity, so a payload cannot be moved."""
    return b"\x00".join((b"kiosk-outbox-v1", row_id.encode(), kind.encode(), key.encode()))


def signed_bytes(row_id: str, kind: str, key: str, payload: bytes) -> bytes:
    """What the detached signature covers: the row's identity and the plaintext."""
    return aad_for(row_id, kind, key) + b"\x00" + payload


class OutboxFile:
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

    async def record(self, event: AuditEvent) -> None:
        """Append one audit event on its own (card, login, print…)."""
        await self._write(lambda conn: audit.append(conn, event))

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
