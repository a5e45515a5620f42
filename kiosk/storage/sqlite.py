"""Durable SQLite files: connection settings, the shared async connection, migrations, errors.

Settings follow FIELD-NOTES.md "SQLite outbox": ``isolation_level=None`` with an
explicit ``BEGIN IMMEDIATE … COMMIT``; WAL (persistent in the file) and
``synchronous=FULL`` and ``busy_timeout`` on *every* connection, since those two are
per connection. The schema version is ``PRAGMA user_version``; each migration is a
list of statements applied in one transaction, so a crash mid-migration leaves the
previous version intact. Migrations are append-only: never edit a published one.

The audit chain lives in the same file (migration 3) so that a change and its
audit line commit together, and an enqueue's line can be derived from its row
(migration 5).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from kiosk.errors import StorageError
from kiosk.locale import Message, Words, msg

T = TypeVar("T")

__all__ = [
    "MIGRATIONS",
    "OUTBOX",
    "SCHEMA_VERSION",
    "Database",
    "StorageName",
    "connect",
    "integrity_problems",
    "iso",
    "migrate",
    "storage_error",
]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1 — the outbox rows of ARCHITECTURE.md §6.
    (
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'in_flight', 'done', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            attempted_at TEXT,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            key_id TEXT NOT NULL,
            payload BLOB,
            signature BLOB,
            signer_id TEXT NOT NULL,
            signer_cert BLOB
        )""",
        "CREATE INDEX outbox_state_seq ON outbox (state, seq)",
    ),
    # 2 — leases with expiry, answered-fault count, acknowledgement, bulk flag.
    (
        "ALTER TABLE outbox ADD COLUMN lease_owner TEXT",
        "ALTER TABLE outbox ADD COLUMN lease_expires_at TEXT",
        "ALTER TABLE outbox ADD COLUMN faults INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE outbox ADD COLUMN acked_at TEXT",
        "ALTER TABLE outbox ADD COLUMN remote_id TEXT",
        "ALTER TABLE outbox ADD COLUMN bulk INTEGER NOT NULL DEFAULT 0",
    ),
    # 3 — the audit chain (ARCHITECTURE.md §7), append-only by trigger, head kept aside.
    (
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            subject TEXT NOT NULL,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL
        )""",
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END""",
    ),
    # 4 — a leaner row, because every page a commit touches is written and synced
    # (issue 8 benchmark: 10 WAL frames per enqueue before, 7 after). The signer's
    # certificate (~1 KB) is kept once in ``signers`` instead of in every row; ``seq``
    # drops AUTOINCREMENT and its ``sqlite_sequence`` page (a seq reused after a purge
    # still sorts after every live row, and the worker matches seq *and* id); ``id``
    # loses its unique index: it is a UUIDv7, the worker finds rows by seq, and only
    # ``kiosk outbox retry ID`` looks one up by id. ``crashes`` counts the workers that
    # died while the row was in flight (a row that kills every worker is set aside).
    (
        """CREATE TABLE signers (
            id INTEGER PRIMARY KEY,
            certificate BLOB NOT NULL UNIQUE
        )""",
        "INSERT INTO signers (certificate) SELECT DISTINCT signer_cert FROM outbox"
        " WHERE signer_cert IS NOT NULL ORDER BY seq",
        """CREATE TABLE outbox_v4 (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'in_flight', 'done', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            faults INTEGER NOT NULL DEFAULT 0,
            crashes INTEGER NOT NULL DEFAULT 0,
            bulk INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            attempted_at TEXT,
            next_attempt_at TEXT NOT NULL,
            acked_at TEXT,
            lease_owner TEXT,
            lease_expires_at TEXT,
            last_error TEXT,
            remote_id TEXT,
            key_id TEXT NOT NULL,
            signer_id TEXT NOT NULL,
            signer INTEGER REFERENCES signers (id),
            signature BLOB,
            payload BLOB
        )""",
        """INSERT INTO outbox_v4 (seq, id, idempotency_key, kind, state, attempts, faults,
            bulk, created_at, attempted_at, next_attempt_at, acked_at, lease_owner,
            lease_expires_at, last_error, remote_id, key_id, signer_id, signer, signature,
            payload)
        SELECT o.seq, o.id, o.idempotency_key, o.kind, o.state, o.attempts, o.faults,
            o.bulk, o.created_at, o.attempted_at, o.next_attempt_at, o.acked_at,
            o.lease_owner, o.lease_expires_at, o.last_error, o.remote_id, o.key_id,
            o.signer_id, s.id, o.signature, o.payload
        FROM outbox AS o LEFT JOIN signers AS s ON s.certificate = o.signer_cert""",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_v4 RENAME TO outbox",
        "CREATE INDEX outbox_state_seq ON outbox (state, seq)",
    ),
    # 5 — an enqueue commits its row alone: its audit line is derived from the
    # committed row and chained by the next write (``kiosk/audit/store.py``
    # ``chain_owed``), two pages fewer per enqueue. ``outbox_seq`` is the last row
    # whose line is in the chain; every row written before this version has one.
    (
        "ALTER TABLE audit_head ADD COLUMN outbox_seq INTEGER NOT NULL DEFAULT 0",
        "UPDATE audit_head SET outbox_seq = (SELECT COALESCE(MAX(seq), 0) FROM outbox)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

_WAL_PAGES = 256


def iso(moment: datetime) -> str:
    """A fixed-width UTC timestamp: text order is time order, as SQL comparisons need."""
    # ``YYYY-MM-DDTHH:MM:SS.ffffff`` then Z; isoformat is 4x faster than strftime.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:26] + "Z"


@dataclass(frozen=True)
class StorageName:
    """How messages name a durable file, so the operator knows which one is full."""

    words: Message

    @property
    def fr(self) -> str:
        """The name in French."""
        return self.words.text("fr")

    @property
    def en(self) -> str:
        """The name in English."""
        return self.words.text("en")


OUTBOX = StorageName(msg("storage.name.outbox"))


def storage_error(
    exc: sqlite3.Error, path: Path | str, *, name: StorageName = OUTBOX
) -> StorageError:
    """Translate an sqlite3 error into a StorageError that says what the operator can do."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    where = msg("storage.where", name=name.words, path=path)
    if primary == sqlite3.SQLITE_FULL or "full" in text:
        return StorageError(msg("storage.disk_full", where=where), detail=text)
    if primary == sqlite3.SQLITE_IOERR:
        return StorageError(msg("storage.io_error", where=where), detail=text)
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StorageError(msg("storage.damaged", where=where), detail=text)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StorageError(msg("storage.busy", where=where), detail=text)
    return StorageError(msg("storage.error", where=where), detail=text)


def connect(
    path: Path, *, busy_timeout_ms: int = 5000, max_page_count: int | None = None
) -> sqlite3.Connection:
    """Open ``path`` with the outbox settings (blocking; call from the connection's thread)."""
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        configure(conn, busy_timeout_ms=busy_timeout_ms, max_page_count=max_page_count)
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    return conn


def configure(
    conn: sqlite3.Connection, *, busy_timeout_ms: int = 5000, max_page_count: int | None = None
) -> None:
    """Apply the per-connection pragmas (WAL persists; FULL and busy_timeout do not)."""
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    # Keep the WAL small (≈1 MiB): a checkpoint must copy the WAL into the main file, so
    # a WAL as large as the free space could never be checkpointed on a full disk.
    conn.execute(f"PRAGMA wal_autocheckpoint = {_WAL_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit = {_WAL_PAGES * 4096}")
    if max_page_count is not None:
        conn.execute(f"PRAGMA max_page_count = {int(max_page_count)}")


def integrity_problems(path: Path) -> list[str]:
    """What ``PRAGMA integrity_check`` finds in ``path``, opened read-only; empty when sound.

    Blocking (the self-test runs it in a thread). Read-only, so a check never takes a
    write lock from the desk or the sync worker; WAL readers see the last commit.
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def migrate(
    conn: sqlite3.Connection,
    *,
    target: int | None = None,
    migrations: tuple[tuple[str, ...], ...] = MIGRATIONS,
    name: StorageName = OUTBOX,
) -> int:
    """Bring the file to ``target`` (default: latest); return the version found before.

    ``migrations`` and ``name`` serve another durable file with its own list (the
    identity records); the outbox's are the defaults.
    """
    latest = len(migrations)
    target = latest if target is None else target
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current == target:
        return current  # the common case: no write transaction, no fsync
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > latest:
            named = Words(name.fr.capitalize(), name.en.capitalize())
            raise StorageError(
                msg("storage.schema_too_new", name=named, found=found, latest=latest)
            )
        for version in range(found + 1, target + 1):
            for statement in migrations[version - 1]:
                conn.execute(statement)
        if target > found:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


class Database:
    """One aiosqlite connection to a durable file; every call is one hop to its thread.

    Shared by the outbox and the identity records, so the private aiosqlite primitive
    below is used in one place only.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path, name: StorageName) -> None:
        self._db = db
        self.path = path
        self.name = name

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        name: StorageName,
        prepare: Callable[[sqlite3.Connection], object],
        busy_timeout_ms: int = 5000,
        max_page_count: int | None = None,
    ) -> Database:
        """Open ``path`` with the durable settings, then run ``prepare`` (migrations)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(
                msg("storage.cannot_open", where=msg("storage.where", name=name.words, path=path)),
                detail=str(exc),
            ) from exc
        database = cls(db, path, name)

        def setup(conn: sqlite3.Connection) -> None:
            configure(conn, busy_timeout_ms=busy_timeout_ms, max_page_count=max_page_count)
            prepare(conn)

        try:
            await database.call(setup)
        except BaseException:
            await db.close()
            raise
        return database

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection's thread; sqlite3 errors become StorageError."""
        # aiosqlite has no public "run this function on the connection thread"; its
        # queue primitive is what keeps a whole transaction to one hop (FIELD-NOTES.md).
        run = cast(Callable[..., Any], self._db._execute)
        try:
            return cast(T, await run(fn, self._db._conn))
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, name=self.name) from exc

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` inside ``BEGIN IMMEDIATE … COMMIT``; rolled back if it raises."""

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self.call(transaction)

    async def close(self) -> None:
        """Close the connection (a WAL checkpoint happens on the last close)."""
        await self._db.close()
