"""Outbox benchmarks (issue 8), in one run.

1. Durable enqueue (sealed + signed, WAL, synchronous=FULL, through aiosqlite) per
   record, against the sum of its irreducible parts measured beside it, interleaved
   in rounds so machine load hits both alike: one raw ``sqlite3`` FULL insert of the
   same bytes in its own transaction, one AES-GCM encryption, one RSA-SHA256
   signature with the same (already loaded) key. Target ≤ 1.3×. Each round of
   enqueues ends by chaining their audit lines (an enqueue's line is derived from its
   row by the next write), so that work is in the per-record cost too. The parts are
   timed twice: in tight loops, and one record at a time as an enqueue does them.
   Beside it, the same enqueue with its statements run on the caller's thread shows
   what aiosqlite's hop costs, and an empty call to the connection's thread (no
   statement: the hop alone, ``noop_hop_ms``) what any hop costs on this machine; and
   the WAL frames each record writes and syncs.
2. Drain rate against the feed sink process at the configured 5 tx/s: achieved
   rate vs configured (target within 2 %), the most sends in any 1 s window (must
   not exceed the rate), and the sink's rate-limit faults (must be 0).
3. RSS of a fresh process that opens an outbox holding 100,000 pending rows, reads
   its status, lists 100 rows and leases one. The rows are bulk-inserted with real
   sealed payloads but one shared signature (signing 100,000 rows would take minutes
   and is not what is measured).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.clock import SystemClock
from kiosk.outbox.file import aad_for, signed_bytes
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.ports import Ack, OutboxItem
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncWorker
from kiosk.signing import KeySigner
from kiosk.sim.pki import ESTABLISHMENT, ensure_test_pki
from kiosk.storage.sqlite import OUTBOX, Database, configure, connect, iso, migrate

T = TypeVar("T")
PAYLOAD = os.urandom(4096)  # a submission set of a few KB
ROUNDS = 10
PER_ROUND = 100
HOUR = 3600.0


async def _enqueue_round(store: OutboxStore, signer: KeySigner, start: int) -> float:
    t0 = time.perf_counter()
    for i in range(start, start + PER_ROUND):
        await store.enqueue(
            kind="dmp.submit", idempotency_key=f"bench-{i}", payload=PAYLOAD, signer=signer
        )
    chained = await store.chain_owed()  # the round's audit lines are part of its cost
    assert chained == PER_ROUND, chained
    return (time.perf_counter() - t0) / PER_ROUND


def _insert(raw: sqlite3.Connection, i: int, sealed: bytes, signature: bytes, cert: bytes) -> None:
    raw.execute("BEGIN IMMEDIATE")
    raw.execute(
        "INSERT INTO raw (id, key, kind, payload, signature, cert) VALUES (?, ?, ?, ?, ?, ?)",
        (f"id-{i}", f"bench-{i}", "dmp.submit", sealed, signature, cert),
    )
    raw.execute("COMMIT")


def _parts_round(
    raw: sqlite3.Connection, aead: AESGCM, signer: KeySigner, cert: bytes, start: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The parts in tight loops (warm caches), then one record at a time, each part timed."""
    sealed = b"\0" * 12 + aead.encrypt(b"\0" * 12, PAYLOAD, b"aad")
    signature = signer.sign(PAYLOAD)
    t0 = time.perf_counter()
    for i in range(start, start + PER_ROUND):
        _insert(raw, i, sealed, signature, cert)
    t_sql = (time.perf_counter() - t0) / PER_ROUND
    t0 = time.perf_counter()
    for i in range(PER_ROUND):
        aead.encrypt(i.to_bytes(12, "big"), PAYLOAD, b"aad")
    t_aes = (time.perf_counter() - t0) / PER_ROUND
    t0 = time.perf_counter()
    for _ in range(PER_ROUND):
        signer.sign(PAYLOAD)
    t_sign = (time.perf_counter() - t0) / PER_ROUND
    tight = {"sqlite": t_sql, "aes": t_aes, "sign": t_sign}

    each = dict.fromkeys(tight, 0.0)
    offset = (ROUNDS + start) * PER_ROUND  # keys apart from the tight loop's
    for i in range(offset, offset + PER_ROUND):
        t0 = time.perf_counter()
        signature = signer.sign(PAYLOAD)
        t1 = time.perf_counter()
        nonce = os.urandom(12)
        sealed = nonce + aead.encrypt(nonce, PAYLOAD, b"aad")
        t2 = time.perf_counter()
        _insert(raw, i, sealed, signature, cert)
        t3 = time.perf_counter()
        each["sign"] += t1 - t0
        each["aes"] += t2 - t1
        each["sqlite"] += t3 - t2
    return tight, {k: v / PER_ROUND for k, v in each.items()}


class _InlineDatabase(Database):
    """The outbox's statements run on the caller's thread: the enqueue without its thread hop.

    Diagnostic only (the product always goes through aiosqlite, which keeps blocking
    I/O off the event loop): it shows what the hop to the connection thread and back
    costs on this machine.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        super().__init__(cast(Any, None), path, OUTBOX)
        self._conn = conn

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._conn)


async def _wal_frames_per_enqueue(store: OutboxStore, signer: KeySigner, path: Path) -> float:
    """Pages each record writes and syncs, its audit line included: WAL frames over a few
    enqueues and the chaining of their lines (no checkpoint in between)."""
    n = 20  # 20 x ~6 frames stays under the 256-frame autocheckpoint
    probe = sqlite3.connect(path, isolation_level=None)
    try:
        probe.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for i in range(n):
            await store.enqueue(
                kind="dmp.submit", idempotency_key=f"frames-{i}", payload=PAYLOAD, signer=signer
            )
        await store.chain_owed()
        _, frames, _ = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        probe.close()
    return round(int(frames) / n, 2)


async def _noop_hop(db: Database, n: int = 2000) -> float:
    """Median round trip of a call that runs nothing on the connection's thread."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        await db.call(lambda conn: None)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def bench_enqueue(work: Path, signer: KeySigner) -> dict[str, Any]:
    # The lines are chained at the end of each round, not by the store's timer.
    store = await OutboxStore.open(
        work / "enqueue.sqlite3",
        FileDeviceKey.load_or_create(work / "dev.key"),
        SystemClock(),
        audit_lag_s=HOUR,
    )
    raw = sqlite3.connect(work / "raw.sqlite3", isolation_level=None)
    configure(raw)
    raw.execute(
        "CREATE TABLE raw (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, key TEXT UNIQUE, kind TEXT,"
        " payload BLOB, signature BLOB, cert BLOB)"
    )
    aead = AESGCM(os.urandom(32))
    cert = signer.certificate.public_bytes(Encoding.DER)
    inline_path = work / "inline.sqlite3"
    inline_conn = connect(inline_path)
    migrate(inline_conn)
    inline = OutboxStore(
        _InlineDatabase(inline_conn, inline_path),
        FileDeviceKey(os.urandom(32)),
        SystemClock(),
        audit_lag_s=HOUR,
    )
    enqueue: list[float] = []
    inline_enqueue: list[float] = []
    tight: list[dict[str, float]] = []
    each: list[dict[str, float]] = []
    for r in range(ROUNDS):
        enqueue.append(await _enqueue_round(store, signer, r * PER_ROUND))
        inline_enqueue.append(await _enqueue_round(inline, signer, r * PER_ROUND))
        round_tight, round_each = _parts_round(raw, aead, signer, cert, r * PER_ROUND)
        tight.append(round_tight)
        each.append(round_each)
    frames = await _wal_frames_per_enqueue(store, signer, work / "enqueue.sqlite3")
    hop_db = await Database.open(work / "hop.sqlite3", name=OUTBOX, prepare=migrate)
    noop_hop = await _noop_hop(hop_db)
    await hop_db.close()
    await store.close()
    inline_conn.close()
    raw.close()
    t_enqueue = statistics.median(enqueue)
    t_inline = statistics.median(inline_enqueue)

    def summary(parts: list[dict[str, float]]) -> dict[str, Any]:
        med = {k: statistics.median(p[k] for p in parts) for k in ("sqlite", "aes", "sign")}
        total = sum(med.values())
        return {
            "parts_ms": {k: round(v * 1000, 4) for k, v in med.items()},
            "parts_sum_ms": round(total * 1000, 4),
            "ratio": round(t_enqueue / total, 3),
            "inline_ratio": round(t_inline / total, 3),
            "round_ratios": [
                round(e / sum(p.values()), 3) for e, p in zip(enqueue, parts, strict=True)
            ],
        }

    return {
        "records": ROUNDS * PER_ROUND,
        "payload_bytes": len(PAYLOAD),
        "enqueue_ms": round(t_enqueue * 1000, 4),
        "target_ratio": 1.3,
        "inline_enqueue_ms": round(t_inline * 1000, 4),
        "thread_hop_ms": round((t_enqueue - t_inline) * 1000, 4),
        "noop_hop_ms": round(noop_hop * 1000, 4),
        "per_record": summary(each),
        "tight_loops": summary(tight),
        "wal_frames_per_record": frames,
    }


class _TimedSender:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.starts: list[float] = []

    async def send(self, item: OutboxItem) -> Ack:
        self.starts.append(time.monotonic())
        ack: Ack = await self.inner.send(item)
        return ack


async def bench_drain(
    work: Path, signer: KeySigner, rate: float = 5.0, n: int = 76
) -> dict[str, Any]:
    import httpx

    from kiosk.sim.feed.client import FeedSinkControl, FeedSinkSender
    from kiosk.sim.feed.sink import FeedSinkProcess

    sink = FeedSinkProcess.start(work / "sink", rate=rate)
    try:
        store = await OutboxStore.open(
            work / "drain.sqlite3", FileDeviceKey.load_or_create(work / "dev.key"), SystemClock()
        )
        for i in range(n):
            await store.enqueue(
                kind="dmp.submit", idempotency_key=f"d-{i}", payload=PAYLOAD, signer=signer
            )
        async with httpx.AsyncClient(timeout=10) as http:
            sender = _TimedSender(
                FeedSinkSender(http, sink.url, establishment="3750100000", software="kiosk")
            )
            worker = SyncWorker(
                store,
                sender,
                clock=SystemClock(),
                policy=SyncPolicy(rate_per_s=rate),
                rng=random.Random(1),
            )
            await worker.claim()
            report = await worker.run_once()
            worker.release()
            stats = await FeedSinkControl(http, sink.url).stats()
        await store.close()
    finally:
        sink.stop()
    starts = sender.starts
    achieved = (len(starts) - 1) / (starts[-1] - starts[0])
    windows = max(sum(1 for u in starts if t <= u < t + 1.0) for t in starts)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    return {
        "items": n,
        "sent": report.sent,
        "configured_rate": rate,
        "achieved_rate": round(achieved, 4),
        "deviation_pct": round((achieved - rate) / rate * 100, 3),
        "max_in_any_1s_window": windows,
        "min_gap_s": round(min(gaps), 5),
        "sink_rate_limited": stats["rate_limited"],
    }


_RSS_CHILD = r"""
import asyncio, json, resource, sys
from pathlib import Path
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
from kiosk.clock import SystemClock
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
base = rss()
async def main():
    key = FileDeviceKey.load_or_create(Path(sys.argv[2]))
    store = await OutboxStore.open(Path(sys.argv[1]), key, SystemClock())
    status = await store.status()
    rows = await store.rows(state="pending", limit=100)
    leased = await store.lease("bench", lease_s=60, include_bulk=True)
    await store.close()
    return status.counts["pending"], len(rows), len(leased)
pending, listed, leased = asyncio.run(asyncio.wait_for(main(), 600))
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"pending": pending, "listed": listed, "leased": leased,
                  "rss_imports_kib": base, "rss_kib": rss(), "maxrss_kib": maxrss}))
"""


def bench_rss(work: Path, signer: KeySigner, n: int = 100_000) -> dict[str, Any]:
    db, key_path = work / "big.sqlite3", work / "dev.key"
    key = FileDeviceKey.load_or_create(key_path)
    conn = connect(db)
    migrate(conn)
    cert = signer.certificate.public_bytes(Encoding.DER)
    signature = signer.sign(signed_bytes("x", "dmp.submit", "x", PAYLOAD[:1024]))
    now = iso(SystemClock().now())
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    ref = conn.execute("INSERT INTO signers (certificate) VALUES (?) RETURNING id", (cert,))
    ref = ref.fetchone()[0]
    for i in range(n):
        row_id, idem = str(uuid.UUID(int=(1 << 76) | i)), f"big-{i}"
        sealed = key.seal(PAYLOAD[:1024], aad_for(row_id, "dmp.submit", idem))
        conn.execute(
            "INSERT INTO outbox (id, idempotency_key, kind, created_at, next_attempt_at, key_id,"
            " payload, signature, signer_id, signer) VALUES (?, ?, 'dmp.submit', ?, ?, ?,"
            " ?, ?, ?, ?)",
            (row_id, idem, now, now, key.key_id, sealed, signature, "3750100000", ref),
        )
    # The store chains each row's audit line soon after its enqueue; the audit table is
    # not what is measured here, so the fill marks its rows as chained.
    conn.execute("UPDATE audit_head SET outbox_seq = (SELECT MAX(seq) FROM outbox)")
    conn.execute("COMMIT")
    conn.close()
    fill_s = time.perf_counter() - t0
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(db), str(key_path)],
        capture_output=True,
        check=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    result["db_mib"] = round(sum(p.stat().st_size for p in work.glob("big.sqlite3*")) / 2**20, 1)
    result["fill_s"] = round(fill_s, 2)
    result["rss_mib"] = round(result["rss_kib"] / 1024, 1)
    result["rss_over_imports_mib"] = round(
        (result["rss_kib"] - result["rss_imports_kib"]) / 1024, 1
    )
    return result


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        work = Path(tmp)
        signer = ensure_test_pki(work / "pki").signer_for(ESTABLISHMENT)
        enqueue = asyncio.run(bench_enqueue(work, signer))
        drain = asyncio.run(bench_drain(work, signer))
        rss = bench_rss(work, signer)
    return {
        "summary": {
            "enqueue_ms": enqueue["enqueue_ms"],
            "enqueue_parts_sum_ms": enqueue["per_record"]["parts_sum_ms"],
            "enqueue_ratio": enqueue["per_record"]["ratio"],
            "enqueue_ratio_tight_loops": enqueue["tight_loops"]["ratio"],
            "enqueue_thread_hop_ms": enqueue["thread_hop_ms"],
            "enqueue_inline_ratio": enqueue["per_record"]["inline_ratio"],
            "noop_hop_ms": enqueue["noop_hop_ms"],
            "drain_rate": drain["achieved_rate"],
            "drain_deviation_pct": drain["deviation_pct"],
            "drain_max_in_1s": drain["max_in_any_1s_window"],
            "rss_100k_pending_mib": rss["rss_mib"],
        },
        "enqueue": enqueue,
        "drain": drain,
        "rss": rss,
    }
