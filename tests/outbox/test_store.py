"""The store: durable, encrypted, signed rows; the business change commits with them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.audit.store import AuditLog
from kiosk.clock import FrozenClock
from kiosk.errors import NotFound, StorageError
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.ports import PayloadTampered, idempotency_key
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner
from kiosk.storage.sqlite import OUTBOX, Database, iso, migrate

T = TypeVar("T")

PAYLOAD = b"<ClinicalDocument>patient fictif 253072B07300470</ClinicalDocument>"


async def test_enqueue_is_durable_and_the_payload_is_not_stored_in_clear(
    store: OutboxStore, signer: KeySigner, tmp_path: Path
) -> None:
    done = await store.enqueue(
        kind="dmp.submit", idempotency_key="k1", payload=PAYLOAD, signer=signer
    )
    assert done.created
    raw = (tmp_path / "outbox.sqlite3").read_bytes() + (
        tmp_path / "outbox.sqlite3-wal"
    ).read_bytes()
    assert b"ClinicalDocument" not in raw
    assert b"253072B07300470" not in raw
    # A second connection (another process would do the same) sees the committed row.
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as other:
        rows = other.execute("SELECT id, state, kind, signer_id FROM outbox").fetchall()
    assert rows == [(str(done.id), "pending", "dmp.submit", signer.identity.national_id)]


async def test_the_same_business_action_is_queued_once(
    store: OutboxStore, signer: KeySigner
) -> None:
    key = idempotency_key("dmp.create", "INS-TEST", "3750100000")
    first = await store.enqueue(kind="dmp.create", idempotency_key=key, payload=b"a", signer=signer)
    again = await store.enqueue(kind="dmp.create", idempotency_key=key, payload=b"a", signer=signer)
    assert again.id == first.id
    assert not again.created
    assert (await store.status()).counts["pending"] == 1


async def test_business_statements_commit_with_the_row_or_not_at_all(
    store: OutboxStore, signer: KeySigner, tmp_path: Path
) -> None:
    await store.enqueue(
        kind="setup",
        idempotency_key="setup",
        payload=b"x",
        signer=signer,
        statements=[("CREATE TABLE consent (ins TEXT PRIMARY KEY, given_at TEXT)", ())],
    )
    await store.enqueue(
        kind="dmp.create",
        idempotency_key="c1",
        payload=b"x",
        signer=signer,
        statements=[("INSERT INTO consent VALUES (?, ?)", ("ins-1", "2026-01-15"))],
    )
    with pytest.raises(StorageError):
        await store.enqueue(
            kind="dmp.create",
            idempotency_key="c2",
            payload=b"x",
            signer=signer,
            # Primary key violation: the outbox row must vanish with it.
            statements=[("INSERT INTO consent VALUES (?, ?)", ("ins-1", "again"))],
        )
    ids = [r.idempotency_key for r in await store.rows()]
    assert ids == ["setup", "c1"]
    report = await AuditLog(tmp_path / "outbox.sqlite3").verify()
    assert report.ok
    assert report.count == 2


async def test_a_payload_moved_to_another_row_does_not_open(
    store: OutboxStore, signer: KeySigner, tmp_path: Path
) -> None:
    await store.enqueue(kind="k", idempotency_key="a", payload=b"secret A", signer=signer)
    await store.enqueue(kind="k", idempotency_key="b", payload=b"secret B", signer=signer)
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        (sealed_a,) = db.execute("SELECT payload FROM outbox WHERE idempotency_key='a'").fetchone()
        db.execute("UPDATE outbox SET payload = ? WHERE idempotency_key = 'b'", (sealed_a,))
    rows = await store.lease("w", lease_s=60, include_bulk=True, limit=2)
    assert store.unseal(rows[0]) == b"secret A"
    with pytest.raises(PayloadTampered):
        store.unseal(rows[1])


async def test_retry_of_an_unknown_id_says_not_found(store: OutboxStore) -> None:
    with pytest.raises(NotFound):
        await store.retry("0190f000-0000-7000-8000-000000000000")


async def test_expired_leases_return_to_pending(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await store.enqueue(kind="k", idempotency_key="a", payload=b"1", signer=signer)
    (row,) = await store.lease("crashed-worker", lease_s=30, include_bulk=True)
    assert await store.lease("other", lease_s=30, include_bulk=True) == []
    clock.advance(31)
    (again,) = await store.lease("other", lease_s=30, include_bulk=True)
    assert again.id == row.id
    assert again.attempts == 2


async def test_done_rows_lose_their_payload_and_purge_keeps_the_audit_line(
    store: OutboxStore, signer: KeySigner, tmp_path: Path
) -> None:
    await store.enqueue(kind="k", idempotency_key="a", payload=PAYLOAD, signer=signer)
    (row,) = await store.lease("w", lease_s=30, include_bulk=True)
    assert await store.mark_done(row, remote_id="R1", duplicate=False)
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        assert db.execute("SELECT payload, signature FROM outbox").fetchall() == [(None, None)]
    assert await store.purge_done() == 1
    assert (await store.status()).counts == {"pending": 0, "in_flight": 0, "done": 0, "dead": 0}
    lines = await AuditLog(tmp_path / "outbox.sqlite3").export_lines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds == ["outbox.enqueued", "outbox.acked", "outbox.purged"]


async def test_device_key_file_is_private_and_refused_when_readable(tmp_path: Path) -> None:
    path = tmp_path / "dev.key"
    key = FileDeviceKey.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert FileDeviceKey.load_or_create(path).key_id == key.key_id
    path.chmod(0o644)
    with pytest.raises(StorageError, match="readable by others"):
        FileDeviceKey.load_or_create(path)


_ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)
)
_INSTANTS = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_ZONES
)


@given(a=_INSTANTS, b=_INSTANTS)
def test_stored_timestamps_sort_as_time_does(a: datetime, b: datetime) -> None:
    # Due rows and the oldest pending row are found by comparing these texts in SQL.
    assert len(iso(a)) == 27
    assert iso(a).endswith("Z")
    assert datetime.fromisoformat(iso(a)) == a.astimezone(UTC)
    assert (iso(a) < iso(b)) == (a < b)


async def test_a_row_is_found_by_its_idempotency_key_without_its_payload(
    store: OutboxStore, signer: KeySigner
) -> None:
    queued = await store.enqueue(kind="k", idempotency_key="a", payload=b"secret", signer=signer)
    row = await store.row("a")
    assert row is not None
    assert (row.id, row.state) == (str(queued.id), "pending")
    assert "secret" not in repr(row)
    assert await store.row("nothing") is None


class CountingDatabase(Database):
    """The outbox's connection, counting the calls that hop to its thread."""

    hops = 0

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self.hops += 1
        return await super().call(fn)


async def test_an_enqueue_and_its_business_change_are_one_hop_to_the_connection_thread(
    tmp_path: Path, device_key: FileDeviceKey, clock: FrozenClock, signer: KeySigner
) -> None:
    db = await CountingDatabase.open(tmp_path / "outbox.sqlite3", name=OUTBOX, prepare=migrate)
    assert isinstance(db, CountingDatabase)
    store = OutboxStore(db, device_key, clock, audit_lag_s=3600)
    try:
        await store.enqueue(
            kind="k",
            idempotency_key="setup",
            payload=b"x",
            signer=signer,
            statements=[("CREATE TABLE consent (ins TEXT PRIMARY KEY)", ())],
        )
        db.hops = 0
        await store.enqueue(
            kind="k",
            idempotency_key="a",
            payload=PAYLOAD,
            signer=signer,
            statements=[("INSERT INTO consent VALUES (?)", ("ins-1",))],
        )
        await store.enqueue(kind="k", idempotency_key="a", payload=PAYLOAD, signer=signer)
        assert db.hops == 2  # one per enqueue, the refused duplicate included
    finally:
        await store.close()
