"""SIGKILL at random points, 200 times: nothing acknowledged is lost, nothing is sent twice."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from kiosk.audit.store import AuditLog
from kiosk.clock import SystemClock
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.lease import WORKER_CRASH
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncWorker
from kiosk.signing import KeySigner
from kiosk.sim.feed.client import FeedSinkControl, FeedSinkSender
from kiosk.sim.feed.sink import FeedSinkProcess

pytestmark = pytest.mark.slow

CYCLES = int(os.environ.get("KIOSK_TEST_CYCLES", "200"))


class Zygote:
    """Talks to tests/outbox/zygote.py."""

    def __init__(self, directory: Path, signer: KeySigner) -> None:
        key_pem = directory / "sign.key.pem"
        cert_pem = directory / "sign.cert.pem"
        key_pem.write_bytes(
            signer.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_pem.write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
        self.device_key = directory / "device.key"
        self.log = directory / "children.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.outbox.zygote",
                key_pem,
                cert_pem,
                self.device_key,
                self.log,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).parents[2],
            start_new_session=True,
        )
        assert self._read() == {"ready": True}

    def _read(self) -> dict[str, int]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"zygote died; see {self.log}"
        answer: dict[str, int] = json.loads(line)
        return answer

    def ask(self, **command: object) -> dict[str, int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()
        return self._read()

    def kill_after(self, delay: float, **command: object) -> None:
        answer = self.ask(**command)
        pid = answer["pid"]
        assert answer["ready"], f"child died before it was ready; see {self.log}"
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        status = self.ask(op="wait", pid=pid)["status"]
        assert os.WIFSIGNALED(status), f"child ended by itself; see {self.log}"

    def close(self) -> None:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@pytest.fixture
def zygote(tmp_path: Path, signer: KeySigner) -> Iterator[Zygote]:
    z = Zygote(tmp_path, signer)
    try:
        yield z
    finally:
        z.close()


def acknowledged(path: Path) -> list[str]:
    if not path.exists():
        return []
    text = path.read_text()
    return [line for line in text.split("\n")[:-1] if line]  # a torn last line is not an ack


def test_enqueue_survives_sigkill_at_random_points(zygote: Zygote, tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE business (key TEXT NOT NULL)")
    rng = random.Random(200)
    acks = tmp_path / "acks.txt"
    for cycle in range(CYCLES):
        zygote.kill_after(
            rng.uniform(0.0, 0.05), op="enqueue", db=str(db), acks=str(acks), prefix=f"c{cycle}"
        )
        expected = acknowledged(acks)
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            present = [r[0] for r in conn.execute("SELECT idempotency_key FROM outbox")]
            business = [r[0] for r in conn.execute("SELECT key FROM business")]
        assert sorted(present) == sorted(set(present))
        assert set(expected) <= set(present), f"cycle {cycle}: acknowledged rows lost"
        # The business change committed with its row, exactly once, never without it.
        assert sorted(business) == sorted(present)
    assert len(expected) >= CYCLES // 4  # the children did enqueue between kills
    # Every child died before chaining its rows' audit lines (they wait up to a second
    # for the next write); reading the trail chains them: each row once, in row order.
    lines = [json.loads(line) for line in asyncio.run(AuditLog(db).export_lines())]
    with sqlite3.connect(db) as conn:
        rows = [r[0] for r in conn.execute("SELECT id FROM outbox ORDER BY seq")]
    assert [line["subject"] for line in lines if line["kind"] == "outbox.enqueued"] == rows
    assert asyncio.run(AuditLog(db).verify()).ok


async def test_sync_worker_survives_sigkill_mid_send(
    zygote: Zygote, tmp_path: Path, feed_sink: FeedSinkProcess
) -> None:
    db = tmp_path / "outbox.sqlite3"
    key = FileDeviceKey.load_or_create(zygote.device_key)
    sink = feed_sink
    async with httpx.AsyncClient(timeout=10) as http:
        control = FeedSinkControl(http, sink.url)
        await control.set_rate(10_000)
        stats_before = await control.stats()
        try:
            # Every answer is slow, and one in four is lost after the commit.
            await control.inject(
                ["latency", "latency", "latency", "lost"], count=60, latency_s=0.02
            )
            store = await OutboxStore.open(db, key, SystemClock())
            signer = _zygote_signer(zygote)
            run = uuid.uuid4().hex[:8]  # the sink is shared with other tests of the session
            keys = [f"{run}-{i:04d}" for i in range(120)]
            for name in keys:
                await store.enqueue(
                    kind="dmp.submit", idempotency_key=name, payload=b"x" * 200, signer=signer
                )
            await store.close()

            rng = random.Random(8)
            mid_send = 0
            for _ in range(CYCLES):
                zygote.kill_after(
                    rng.uniform(0.0, 0.06), op="sync", db=str(db), url=sink.url, rate=500
                )
                with sqlite3.connect(db) as conn:
                    mid_send += conn.execute(
                        "SELECT count(*) FROM outbox WHERE state = 'in_flight'"
                    ).fetchone()[0]

            await control.clear()
            store = await OutboxStore.open(db, key, SystemClock())
            worker = SyncWorker(
                store,
                FeedSinkSender(http, sink.url, establishment="3750100000", software="kiosk"),
                clock=SystemClock(),
                policy=SyncPolicy(rate_per_s=500, backoff_base_s=0.01, backoff_cap_s=0.1),
            )
            await worker.claim()
            # A row hit by max_crashes kills in a row is set aside as a poison row: the
            # operator's retry sends it, still exactly once.
            set_aside = await store.rows(state="dead")
            await store.retry_dead()
            deadline = time.monotonic() + 60
            while (await store.status()).counts["pending"] and time.monotonic() < deadline:
                await worker.run_once()
                await asyncio.sleep(0.02)  # rows waiting out a crash backoff
            worker.release()
            status = await store.status()
            await store.close()
            before = {k: stats_before.get(k, 0) for k in ("accepted", "duplicates")}
            items = [i for i in await control.items() if i["key"] in set(keys)]
            stats = await control.stats()
        finally:
            await control.clear()
            await control.set_rate(5.0)
    assert mid_send >= CYCLES // 2, "too few kills landed while a row was in flight"
    assert {row.last_error for row in set_aside} <= {WORKER_CRASH}
    assert status.counts == {"pending": 0, "in_flight": 0, "done": len(keys), "dead": 0}
    assert sorted(item["key"] for item in items) == keys  # every item, stored exactly once
    assert stats["accepted"] - before["accepted"] == len(keys)
    assert stats["duplicates"] > before["duplicates"], stats  # resends, absorbed by the key


def _zygote_signer(zygote: Zygote) -> KeySigner:
    from kiosk.signing import SignerIdentity

    directory = zygote.device_key.parent
    return KeySigner.from_pem_files(
        directory / "sign.key.pem",
        directory / "sign.cert.pem",
        SignerIdentity("3750100000/ACC", "ACC"),
    )


async def test_a_payload_that_crashes_every_worker_is_set_aside(
    zygote: Zygote, tmp_path: Path, feed_sink: FeedSinkProcess
) -> None:
    """Real processes, restarted as systemd would: the poison row stops only itself."""
    db = tmp_path / "outbox.sqlite3"
    key = FileDeviceKey.load_or_create(zygote.device_key)
    signer = _zygote_signer(zygote)
    run = uuid.uuid4().hex[:8]
    poison, keys = f"{run}-poison", [f"{run}-{i:02d}" for i in range(10)]
    store = await OutboxStore.open(db, key, SystemClock())
    await store.enqueue(
        kind="dmp.submit", idempotency_key=poison, payload=b"POISON" * 8, signer=signer
    )
    for name in keys:
        await store.enqueue(kind="dmp.submit", idempotency_key=name, payload=b"ok", signer=signer)
    await store.close()

    crashes = 0
    deadline = time.monotonic() + 120  # backoffs add up to ~5.5 s at most
    async with httpx.AsyncClient(timeout=10) as http:
        control = FeedSinkControl(http, feed_sink.url)
        delivered_at_crash: list[int] = []
        while True:
            assert time.monotonic() < deadline, f"the outbox never settled; see {zygote.log}"
            answer = zygote.ask(op="sync_once", db=str(db), url=feed_sink.url, rate=500)
            status = zygote.ask(op="wait", pid=answer["pid"])["status"]
            if os.WIFSIGNALED(status):
                assert os.WTERMSIG(status) == signal.SIGSEGV
                crashes += 1
                items = await control.items()
                delivered_at_crash.append(sum(1 for i in items if i["key"] in keys))
                continue
            with sqlite3.connect(db) as conn:
                states = dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state"))
            if states.get("pending", 0) == 0:
                break
            await asyncio.sleep(0.05)  # the poison row waits out its crash backoff
        items = [i["key"] for i in await control.items() if i["key"].startswith(run)]

    assert crashes == SyncPolicy().max_crashes
    # The oldest row went first and crashed the first worker; others went out while it
    # waited out its backoffs, before it was set aside (the exact order is tested in
    # virtual time in test_sync.py; here each backoff is real and jittered).
    assert delivered_at_crash[0] == 0
    assert delivered_at_crash[-1] > 0, delivered_at_crash
    assert sorted(items) == keys  # every other row delivered, exactly once
    store = await OutboxStore.open(db, key, SystemClock())
    dead = await store.rows(state="dead")
    await store.close()
    assert [(r.idempotency_key, r.last_error) for r in dead] == [(poison, WORKER_CRASH)]
    assert (await AuditLog(db).verify()).ok
