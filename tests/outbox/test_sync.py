"""The sync worker in virtual time: order, rate, faults, integrity, off-hours, leases."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.audit.store import AuditLog
from kiosk.clock import FrozenClock
from kiosk.errors import Unavailable
from kiosk.outbox.file import signed_bytes
from kiosk.outbox.lease import WORKER_CRASH
from kiosk.outbox.ports import Ack, OutboxItem, PermanentSendError, TransientSendError
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SIGNATURE_INVALID, Step, SyncPolicy, SyncWorker, issued_by
from kiosk.signing import KeySigner
from tests.outbox.fakes import RecordingSender, VirtualTime


def worker(
    store: OutboxStore, sender: RecordingSender, clock: FrozenClock, **policy: object
) -> SyncWorker:
    return SyncWorker(
        store,
        sender,
        clock=clock,
        policy=SyncPolicy(**policy),  # type: ignore[arg-type]
        rng=random.Random(8),
        sleep=VirtualTime(clock),
    )


async def fill(store: OutboxStore, signer: KeySigner, n: int, clock: FrozenClock) -> list[str]:
    keys = []
    for i in range(n):
        key = f"doc-{i:04d}"
        await store.enqueue(
            kind="dmp.submit", idempotency_key=key, payload=b"%d" % i, signer=signer
        )
        keys.append(key)
        clock.advance(0.001)
    return keys


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


async def test_drains_oldest_first_never_above_the_rate(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    keys = await fill(store, signer, 25, clock)
    sender = RecordingSender(clock)
    report = await worker(store, sender, clock, rate_per_s=5.0).run_once()
    assert report.sent == 25
    assert [k for k, _ in sender.sends] == keys
    times = [t for _, t in sender.sends]
    assert max_in_any_window(times) == 5
    assert times[-1] - times[0] == pytest.approx(24 / 5.0)


async def test_a_kiosk_share_lowers_the_rate(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 6, clock)
    sender = RecordingSender(clock)
    await worker(store, sender, clock, rate_per_s=5.0 * 0.5).run_once()
    times = [t for _, t in sender.sends]
    assert max_in_any_window(times) == 3
    assert times[-1] - times[0] == pytest.approx(5 / 2.5)


async def test_network_down_for_a_day_waits_then_drains_at_rate_oldest_first(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock, tmp_path: Path
) -> None:
    sender = RecordingSender(clock)
    sender.down = True
    sync = worker(store, sender, clock, rate_per_s=4.0, offline_cap_s=300.0, max_faults=3)
    keys: list[str] = []
    stop = asyncio.Event()
    start = clock.now()
    outage_end = start.timestamp() + 24 * 3600

    class DayOfOutage(VirtualTime):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            # Admissions keep coming during the outage: one item every ~40 min.
            if not sender.down:
                if len(sender.stored) == len(keys):
                    stop.set()
            elif clock.now().timestamp() >= outage_end:
                status = await store.status()
                assert status.counts == {"pending": 36, "in_flight": 0, "done": 0, "dead": 0}
                assert status.oldest_pending_age_s is not None
                assert status.oldest_pending_age_s > 23 * 3600
                sender.down = False
            elif len(keys) * 2400 <= clock.now().timestamp() - start.timestamp():
                key = f"admission-{len(keys):03d}"
                await store.enqueue(
                    kind="dmp.create", idempotency_key=key, payload=b"x", signer=signer
                )
                keys.append(key)

    sync._sleep = DayOfOutage(clock)
    sync._limiter._sleep = sync._sleep
    await asyncio.wait_for(sync.run(stop), timeout=120)
    assert len(keys) == 36
    assert [k for k, _ in sender.sends] == keys
    times = [t for _, t in sender.sends]
    assert max_in_any_window(times) == 4
    assert times[-1] - times[0] == pytest.approx(35 / 4.0, abs=0.01)
    assert (await store.status()).counts["done"] == 36
    assert (await AuditLog(tmp_path / "outbox.sqlite3").verify()).ok


async def test_an_answered_fault_backs_off_then_succeeds(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 1, clock)
    sender = RecordingSender(clock)
    sender.script.append(TransientSendError("x", "x", fault_code="HTTP_503", answered=True))
    sync = worker(store, sender, clock, backoff_base_s=10.0)
    assert await sync.step() is Step.RETRY
    (row,) = await store.rows()
    assert (row.state, row.last_error) == ("pending", "HTTP_503")
    assert await sync.step() is Step.IDLE  # not due before its backoff ends
    clock.advance(10.0)
    assert await sync.step() is Step.SENT
    assert list(sender.stored) == ["doc-0000"]


async def test_backoff_is_full_jitter_capped(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    sync = worker(store, RecordingSender(clock), clock, backoff_base_s=2.0, backoff_cap_s=60.0)
    delays = [sync.backoff(n, 60.0) for n in range(1, 12) for _ in range(50)]
    assert min(delays) >= 0.0
    assert max(delays) <= 60.0
    assert max(sync.backoff(1, 60.0) for _ in range(200)) <= 2.0
    assert max(sync.backoff(10, 60.0) for _ in range(200)) > 30.0


async def test_a_permanent_fault_is_a_dead_letter_with_its_code(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 1, clock)
    sender = RecordingSender(clock)
    sender.script.append(PermanentSendError("x", "x", fault_code="DMP_INS_UNKNOWN"))
    assert await worker(store, sender, clock).step() is Step.DEAD
    (row,) = await store.rows(state="dead")
    assert row.last_error == "DMP_INS_UNKNOWN"


async def test_too_many_answered_faults_is_a_dead_letter(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 1, clock)
    sender = RecordingSender(clock)
    sender.script.extend(
        TransientSendError("x", "x", fault_code="HTTP_500", answered=True) for _ in range(3)
    )
    sync = worker(store, sender, clock, max_faults=3, backoff_cap_s=5.0)
    outcomes = []
    for _ in range(3):
        clock.advance(10)
        outcomes.append(await sync.step())
    assert outcomes == [Step.RETRY, Step.RETRY, Step.DEAD]
    assert (await store.rows(state="dead"))[0].last_error == "HTTP_500"


async def test_a_lost_response_is_resent_with_the_same_key_and_never_a_failure(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 3, clock)
    sender = RecordingSender(clock)
    sender.lose_next_answer = 2
    report = await worker(store, sender, clock, max_faults=1).run_once()
    assert report.offline  # the run stops when it cannot tell
    sync = worker(store, sender, clock, max_faults=1)
    while (await sync.run_once()).offline:
        pass
    assert sorted(sender.stored) == ["doc-0000", "doc-0001", "doc-0002"]
    assert (await store.status()).counts == {"pending": 0, "in_flight": 0, "done": 3, "dead": 0}
    assert [k for k, _ in sender.sends].count("doc-0000") == 3


@pytest.mark.parametrize("column", ["payload", "signature"])
async def test_a_tampered_row_is_never_sent_and_the_audit_says_so(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock, tmp_path: Path, column: str
) -> None:
    await fill(store, signer, 2, clock)
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        (blob,) = db.execute(
            f"SELECT {column} FROM outbox WHERE idempotency_key = 'doc-0000'"
        ).fetchone()
        flipped = bytes([blob[0] ^ 1]) + blob[1:]
        db.execute(
            f"UPDATE outbox SET {column} = ? WHERE idempotency_key = 'doc-0000'",
            (flipped,),
        )
    sender = RecordingSender(clock)
    report = await worker(store, sender, clock).run_once()
    assert (report.dead, report.sent) == (1, 1)
    assert [k for k, _ in sender.sends] == ["doc-0001"]
    (dead,) = await store.rows(state="dead")
    assert dead.last_error == SIGNATURE_INVALID
    lines = await AuditLog(tmp_path / "outbox.sqlite3").export_lines()
    assert any('"outbox.dead"' in line and "signature invalid" in line for line in lines)


async def test_a_payload_re_signed_by_another_key_is_refused(
    store: OutboxStore,
    signer: KeySigner,
    other_signer: KeySigner,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    """Someone replaces signature and certificate with their own: the trust check stops it."""
    done = await store.enqueue(kind="k", idempotency_key="a", payload=b"p", signer=signer)

    forged = other_signer.sign(signed_bytes(str(done.id), "k", "a", b"p"))
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        forger = db.execute(
            "INSERT INTO signers (certificate) VALUES (?) RETURNING id",
            (other_signer.certificate.public_bytes(Encoding.DER),),
        ).fetchone()[0]
        db.execute("UPDATE outbox SET signature = ?, signer = ?", (forged, forger))
    sender = RecordingSender(clock)
    sync = SyncWorker(
        store,
        sender,
        clock=clock,
        rng=random.Random(1),
        sleep=VirtualTime(clock),
        trusted=issued_by([signer.certificate]),  # the fixture's certificate is its own CA
    )
    assert await sync.step() is Step.DEAD
    assert sender.sends == []
    assert issued_by([signer.certificate])(signer.certificate)


async def test_bulk_kinds_wait_for_off_hours(store: OutboxStore, signer: KeySigner) -> None:
    clock = FrozenClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))  # 10:00 in Paris
    store._clock = clock
    await store.enqueue(kind="dmp.history", idempotency_key="h", payload=b"x", signer=signer)
    await store.enqueue(
        kind="dmp.other", idempotency_key="b", payload=b"x", signer=signer, bulk=True
    )
    await store.enqueue(kind="dmp.create", idempotency_key="c", payload=b"x", signer=signer)
    sender = RecordingSender(clock)
    sync = worker(store, sender, clock, bulk_kinds=frozenset({"dmp.history"}))
    assert not sync.in_offhours()
    await sync.run_once()
    assert list(sender.stored) == ["c"]  # the admission goes now; bulk work waits
    clock.advance(10 * 3600)  # 20:00 in Paris
    assert sync.in_offhours()
    await sync.run_once()
    assert list(sender.stored) == ["c", "h", "b"]


async def test_one_worker_per_outbox_and_its_claim_takes_back_the_orphans(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 2, clock)
    await store.lease("dead-worker", lease_s=3600, include_bulk=True, limit=2)
    first = worker(store, RecordingSender(clock), clock)
    assert await first.claim() == 2
    with pytest.raises(Unavailable):
        await worker(store, RecordingSender(clock), clock).claim()
    first.release()
    assert (await store.status()).counts["pending"] == 2


class WorkerDied(BaseException):
    """Stands for the process dying mid-send (nothing in the worker may catch it)."""


class PoisonSender(RecordingSender):
    """Dies, as a segfaulting parser would, every time it is handed the poison row."""

    async def send(self, item: OutboxItem) -> Ack:
        if item.idempotency_key == "poison":
            raise WorkerDied
        return await super().send(item)


async def test_a_row_that_kills_every_worker_is_set_aside_and_the_rest_flows(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock, tmp_path: Path
) -> None:
    await store.enqueue(kind="dmp.submit", idempotency_key="poison", payload=b"x", signer=signer)
    clock.advance(0.001)
    keys = await fill(store, signer, 3, clock)
    sender = PoisonSender(clock)
    lives, deaths = 0, 0
    while True:  # each loop is one worker process, restarted after it dies
        lives += 1
        assert lives <= 20, "the poison row is never set aside"
        current = worker(store, sender, clock, max_crashes=3, backoff_base_s=2.0)
        await current.claim()
        try:
            await current.run_once()
        except WorkerDied:
            deaths += 1
            current.release()
            clock.advance(5.0)  # the service manager restarts the worker
            continue
        current.release()
        if (await store.status()).counts["pending"] == 0:
            break
        clock.advance(60.0)

    # The rows behind the poison row went out after its first crash, not after its last.
    assert [k for k, _ in sender.sends[:3]] == keys
    assert deaths == 3  # max_crashes: the worker after the third death sets it aside
    dead = await store.rows(state="dead")
    assert [(r.idempotency_key, r.last_error) for r in dead] == [("poison", WORKER_CRASH)]
    report = await AuditLog(tmp_path / "outbox.sqlite3").verify()
    assert report.ok

    # The operator retries it: it is tried again with a clean count.
    await store.retry(dead[0].id)
    assert (await store.status()).counts == {"pending": 1, "in_flight": 0, "done": 3, "dead": 0}


async def test_an_expired_lease_counts_as_a_crash_of_its_row(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock
) -> None:
    await fill(store, signer, 1, clock)
    for _ in range(2):
        assert await store.lease("lost", lease_s=10, include_bulk=True, max_crashes=2)
        clock.advance(11)
    assert await store.lease("w", lease_s=10, include_bulk=True, max_crashes=2) == []
    assert [r.last_error for r in await store.rows(state="dead")] == [WORKER_CRASH]


class BuggySender(RecordingSender):
    """Meets a bug (not a service fault) on one row."""

    async def send(self, item: OutboxItem) -> Ack:
        if item.idempotency_key == "bad":
            raise RuntimeError("a bug met on this payload")
        return await super().send(item)


async def test_a_bug_met_on_one_row_neither_stops_the_worker_nor_the_other_rows(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await store.enqueue(kind="dmp.submit", idempotency_key="bad", payload=b"x", signer=signer)
    clock.advance(0.001)
    keys = await fill(store, signer, 3, clock)
    sender = BuggySender(clock)
    current = worker(store, sender, clock, max_crashes=3, lease_s=10.0, backoff_base_s=1.0)
    await current.claim()
    stop = asyncio.Event()
    task = asyncio.create_task(current.run(stop, status_every_s=3600))
    try:
        for _ in range(2000):
            status = await store.status()
            if status.counts["dead"] and not status.counts["pending"]:
                break
            await asyncio.sleep(0)
        assert not task.done(), "the worker stopped"
    finally:
        stop.set()
        await task
        current.release()
    assert status.counts == {"pending": 0, "in_flight": 0, "done": 3, "dead": 1}
    assert sorted(sender.stored) == keys
    assert [r.last_error for r in await store.rows(state="dead")] == [WORKER_CRASH]
    assert "outbox.worker_error" in caplog.text
