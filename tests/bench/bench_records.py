"""Identity-record store benchmark: save (new and repeat admission) and read, per record.

One SQLite file in a temporary directory, WAL and ``synchronous=FULL`` (the outbox's
settings), through aiosqlite. A save is one transaction (the record and its
observation line); a read is one call (the record and its observation log). Beside
them, a raw ``sqlite3`` FULL insert of a row of the same width in its own
transaction: the floor a save cannot go under on this disk.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.domain.ins import (
    OID_INS_NIR_TEST,
    Identity,
    IdentityStatus,
    Ins,
    InsEnvironment,
    StrictTraits,
)
from kiosk.records import RecordStore
from kiosk.records.record import IdentityRecord, Source
from kiosk.storage.sqlite import connect

N = 500
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
TRAITS = StrictTraits.create("MARTIN-TEST", "PAUL JEAN", date(1980, 5, 23), "M", "75056")
SOURCES = frozenset({Source.VITALE, Source.INSI, Source.DOCUMENT})


def _ins(n: int) -> Ins:
    body = f"1800575{n:06d}"  # fictitious, test OID (DOMAIN.md §7)
    return Ins.of(f"{body}{97 - int(body) % 97:02d}", OID_INS_NIR_TEST)


def _record(n: int, at: datetime) -> IdentityRecord:
    identity = Identity(_ins(n), TRAITS, IdentityStatus.QUAL)
    return IdentityRecord(identity, SOURCES, (), at, at, f"IPP-{n:06d}")


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
    }


async def _timed(calls: list[Any]) -> list[float]:
    out = []
    for call in calls:
        t0 = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t0)
    return out


async def _measure(directory: Path) -> dict[str, Any]:
    store = await RecordStore.open(directory / "records.sqlite", InsEnvironment.TEST)
    raw = connect(directory / "raw.sqlite")
    raw.execute("CREATE TABLE t (k TEXT PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT)")
    first: list[float] = []
    floor: list[float] = []
    try:
        # Interleaved, one save then one raw insert, so machine load hits both alike.
        for n in range(N):
            first += await _timed([lambda n=n: store.save(_record(n, T0))])
            t0 = time.perf_counter()
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", (str(n), "A" * 40, "B", "C", "D"))
            raw.execute("COMMIT")
            floor.append(time.perf_counter() - t0)
        later = T0 + timedelta(days=30)
        again = await _timed([lambda n=n: store.save(_record(n, later)) for n in range(N)])
        reads = await _timed([lambda n=n: store.get(_ins(n)) for n in range(N)])
    finally:
        await store.close()
        raw.close()
    return {"first": first, "again": again, "reads": reads, "floor": floor}


def run() -> dict[str, Any]:
    """Per-record save and read times over N patients."""
    with tempfile.TemporaryDirectory() as tmp:
        measured = asyncio.run(_measure(Path(tmp)))
    first, again, reads, floor = (_stats(measured[k]) for k in ("first", "again", "reads", "floor"))
    ratio = round(first["median_ms"] / floor["median_ms"], 2)
    return {
        "records": N,
        "save_new": first,
        "save_repeat_admission": again,
        "read": reads,
        "raw_sqlite3_full_insert": floor,
        "save_vs_raw_median": ratio,
        "summary": (
            f"save new {first['median_ms']} ms median / {first['p95_ms']} ms p95, repeat "
            f"{again['median_ms']} ms, read {reads['median_ms']} ms median; "
            f"raw sqlite3 FULL insert {floor['median_ms']} ms ({ratio}x)"
        ),
    }
