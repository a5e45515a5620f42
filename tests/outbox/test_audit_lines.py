"""An enqueue's audit line: derived from its committed row, never missing, never late.

The enqueue commits its row alone (issue 8: two pages fewer to sync while the agent
waits). Its line must still reach the chain: before any later event, within the
store's lag when nothing else writes, and when the trail is read after a crash.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk.audit.store import AuditLog
from kiosk.clock import FrozenClock
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner
from kiosk.storage.sqlite import connect, migrate

HOUR = 3600.0
Opener = Callable[[float], Awaitable[OutboxStore]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite3"


@pytest.fixture
def open_store(db: Path, device_key: FileDeviceKey, clock: FrozenClock) -> Opener:
    """Open the outbox at ``db`` with the given audit lag (seconds)."""

    async def opener(audit_lag_s: float) -> OutboxStore:
        return await OutboxStore.open(db, device_key, clock, audit_lag_s=audit_lag_s)

    return opener


async def trail(db: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in await AuditLog(db).export_lines()]


async def deliver_next(store: OutboxStore) -> None:
    """The worker's part: lease the oldest row and record its acknowledgement."""
    (leased,) = await store.lease("w", lease_s=30, include_bulk=True)
    await store.mark_done(leased, remote_id="R1", duplicate=False)


def chained(db: Path) -> list[tuple[str, str]]:
    """The lines in the file as they are, without chaining anything."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT kind, subject FROM audit ORDER BY seq"))


async def test_the_trail_of_a_crashed_kiosk_still_shows_its_enqueues(
    db: Path, open_store: Opener, clock: FrozenClock, signer: KeySigner
) -> None:
    store = await open_store(HOUR)
    first = await store.enqueue(kind="dmp.create", idempotency_key="a", payload=b"1", signer=signer)
    clock.advance(5)
    second = await store.enqueue(
        kind="dmp.submit", idempotency_key="b", payload=b"2", signer=signer
    )
    # The kiosk dies here (its store is never closed); an operator reads the trail.
    lines = await trail(db)
    assert [(line["kind"], line["subject"]) for line in lines] == [
        ("outbox.enqueued", str(first.id)),
        ("outbox.enqueued", str(second.id)),
    ]
    assert lines[0]["actor"] == signer.identity.national_id
    assert lines[0]["details"] == {"key": "a", "kind": "dmp.create"}
    with sqlite3.connect(db) as conn:
        created = [r[0] for r in conn.execute("SELECT created_at FROM outbox ORDER BY seq")]
    # Each line carries the moment its row was committed, not the moment it was chained.
    assert [line["at"][:26] for line in lines] == [c[:26] for c in created]
    assert (await AuditLog(db).verify()).ok
    await store.close()
    assert len(await trail(db)) == 2  # chained once, not again at close


async def test_an_enqueue_line_comes_before_any_later_event(
    db: Path, open_store: Opener, clock: FrozenClock, signer: KeySigner
) -> None:
    store = await open_store(HOUR)
    row = await store.enqueue(kind="dmp.create", idempotency_key="a", payload=b"1", signer=signer)
    clock.advance(1)
    await store.record(AuditEvent(clock.now(), AuditKind.RECEIPT_PRINTED, subject="receipt-1"))
    await deliver_next(store)
    await store.close()
    assert chained(db) == [
        ("outbox.enqueued", str(row.id)),
        ("receipt.printed", "receipt-1"),
        ("outbox.acked", str(row.id)),
    ]


async def test_with_nothing_else_writing_the_store_chains_within_its_lag(
    db: Path, open_store: Opener, clock: FrozenClock, signer: KeySigner
) -> None:
    store = await open_store(0.05)
    try:
        row = await store.enqueue(kind="k", idempotency_key="a", payload=b"1", signer=signer)
        deadline = time.monotonic() + 10
        while not chained(db):
            assert time.monotonic() < deadline, "the enqueue line was never chained"
            await asyncio.sleep(0.02)
        assert chained(db) == [("outbox.enqueued", str(row.id))]
        # A later enqueue arms the timer again.
        again = await store.enqueue(kind="k", idempotency_key="b", payload=b"2", signer=signer)
        while len(chained(db)) < 2:
            assert time.monotonic() < deadline, "the second enqueue line was never chained"
            await asyncio.sleep(0.02)
        assert chained(db)[1] == ("outbox.enqueued", str(again.id))
    finally:
        await store.close()


async def test_a_row_numbered_again_after_a_purge_still_gets_its_line(
    db: Path, open_store: Opener, clock: FrozenClock, signer: KeySigner
) -> None:
    store = await open_store(HOUR)
    first = await store.enqueue(kind="k", idempotency_key="a", payload=b"1", signer=signer)
    await deliver_next(store)
    assert await store.purge_done() == 1
    # The table is empty again: the next row takes the purged row's number.
    second = await store.enqueue(kind="k", idempotency_key="b", payload=b"2", signer=signer)
    await store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT seq FROM outbox").fetchall() == [(1,)]
    assert [(line["kind"], line["subject"]) for line in await trail(db)] == [
        ("outbox.enqueued", str(first.id)),
        ("outbox.acked", str(first.id)),
        ("outbox.purged", ""),
        ("outbox.enqueued", str(second.id)),
    ]


async def test_rows_written_before_lines_were_derived_are_not_chained_twice(
    db: Path, open_store: Opener, signer: KeySigner
) -> None:
    # A version 4 file: its enqueues chained their lines in their own transaction.
    conn = connect(db)
    migrate(conn, target=4)
    conn.execute(
        "INSERT INTO outbox (id, idempotency_key, kind, created_at, next_attempt_at,"
        " key_id, payload, signer_id) VALUES ('id-1', 'k-1', 'dmp.submit',"
        " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'kid', x'00', 's')"
    )
    conn.execute(
        "INSERT INTO audit (seq, at, kind, actor, subject, details, prev_hash, hash)"
        " VALUES (1, '2026-01-01T00:00:00.000000+00:00', 'outbox.enqueued', 's', 'id-1',"
        " '{}', ?, 'h1')",
        ("0" * 64,),
    )
    conn.execute("UPDATE audit_head SET seq = 1, hash = 'h1'")
    conn.close()
    store = await open_store(HOUR)
    row = await store.enqueue(kind="k", idempotency_key="new", payload=b"1", signer=signer)
    await store.close()
    assert chained(db) == [("outbox.enqueued", "id-1"), ("outbox.enqueued", str(row.id))]


async def test_a_long_backlog_of_lines_is_chained_whole_and_in_order(
    db: Path, open_store: Opener
) -> None:
    # Rows of a kiosk that kept dying before chaining, more than one batch of them.
    store = await open_store(HOUR)
    await store.close()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO outbox (id, idempotency_key, kind, created_at, next_attempt_at,"
            " key_id, payload, signer_id) VALUES (?, ?, 'dmp.submit',"
            " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'kid', x'00', 's')",
            [(f"row-{i}", f"key-{i}") for i in range(1201)],
        )
    lines = await trail(db)
    assert [line["subject"] for line in lines] == [f"row-{i}" for i in range(1201)]
    assert (await AuditLog(db).verify()).ok
    assert len(await trail(db)) == 1201


async def test_a_row_with_a_damaged_time_is_chained_and_stops_nothing(
    db: Path, open_store: Opener, signer: KeySigner
) -> None:
    store = await open_store(HOUR)
    row = await store.enqueue(kind="k", idempotency_key="a", payload=b"1", signer=signer)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE outbox SET created_at = 'not a time'")
    # Every write chains owed lines first: one bad row must not block them all.
    (leased,) = await store.lease("w", lease_s=30, include_bulk=True)
    assert leased.id == row.id
    await store.close()
    (line,) = [line for line in await trail(db) if line["kind"] == "outbox.enqueued"]
    assert line["subject"] == str(row.id)
    assert line["details"]["created_at_unreadable"] == "not a time"
