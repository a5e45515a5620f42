"""Disk full: enqueue fails clearly, nothing committed is lost, the worker stays alive.

Two ways to fill the disk: a 6 MiB tmpfs mounted for the test (this machine runs the
tests as root; where mounting is refused that case falls back to the other), and
SQLite's ``max_page_count`` capping the file. Each run prints which one it used.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.clock import SystemClock
from kiosk.errors import StorageError
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncWorker
from kiosk.signing import KeySigner
from tests.outbox.fakes import RecordingSender


@pytest.fixture(params=["tmpfs", "max_page_count"])
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, int | None]]:
    """A directory on a 6 MiB file system, or (directory, page cap) when mounting is refused."""
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = request.param == "tmpfs" and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    print("disk full simulated by", "a 6 MiB tmpfs" if mounted else "max_page_count")
    try:
        yield mount, (None if mounted else 400)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_disk_full(small_disk: tuple[Path, int | None], signer: KeySigner) -> None:
    directory, page_cap = small_disk
    clock = SystemClock()
    key = FileDeviceKey.load_or_create(directory / "device.key")
    store = await OutboxStore.open(
        directory / "outbox.sqlite3", key, clock, max_page_count=page_cap
    )
    filler = directory / "filler"
    if page_cap is None:
        filler.write_bytes(b"\0" * 3 * 1024 * 1024)  # space to give back later
    committed: list[str] = []
    error: StorageError | None = None
    try:
        for i in range(100_000):
            name = f"doc-{i:05d}"
            await store.enqueue(
                kind="dmp.submit", idempotency_key=name, payload=os.urandom(20_000), signer=signer
            )
            committed.append(name)
    except StorageError as exc:
        error = exc
    assert error is not None
    assert "Disk full" in error.message("en")
    assert "Disque plein" in error.message("fr")
    assert committed

    # Nothing committed is lost: another connection sees every acknowledged row.
    with sqlite3.connect(directory / "outbox.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = [r[0] for r in db.execute("SELECT idempotency_key FROM outbox ORDER BY seq")]
    assert keys == committed

    # The worker keeps running while the disk is full, then drains once space is back.
    sender = RecordingSender(clock)  # type: ignore[arg-type]
    worker = SyncWorker(
        store,
        sender,
        clock=clock,
        policy=SyncPolicy(rate_per_s=1000, idle_poll_s=0.01, offline_cap_s=0.05),
        rng=random.Random(1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(1.0)
    assert not task.done()  # alive, although its writes fail
    filler.unlink(missing_ok=True)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, timeout=60)
    await store.close()
    store = await OutboxStore.open(directory / "outbox.sqlite3", key, clock)
    try:
        # A restart requeues what the worker could not mark while the disk was full.
        worker = SyncWorker(store, sender, clock=clock, policy=SyncPolicy(rate_per_s=1000))
        await worker.claim()
        await worker.run_once()
        worker.release()
        assert sorted(sender.stored) == committed
        assert (await store.status()).counts["done"] == len(committed)
    finally:
        await store.close()
