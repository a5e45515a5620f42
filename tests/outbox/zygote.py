"""A pre-imported process that forks short-lived outbox children for the SIGKILL tests.

Starting Python and importing the stack costs ~0.5 s; forking this already-loaded
process costs a few milliseconds, so 200 kill/restart cycles fit in the test budget.
Nothing here opens a database, a thread or an event loop before forking.

Protocol: one JSON command per line on stdin, one JSON answer per line on stdout.
``{"op": "enqueue", "db": …, "acks": …, "prefix": …}`` and
``{"op": "sync", "db": …, "url": …, "rate": …}`` fork a child and answer its pid once
the child is ready (store open, worker claimed); ``"sync_once"`` is a worker that exits
when idle and crashes (SIGSEGV) on a payload starting ``POISON``;
``{"op": "wait", "pid": n}`` reaps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import ssl
import sys
from pathlib import Path

import httpx

from kiosk.clock import SystemClock
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.ports import Ack, OutboxItem
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncWorker
from kiosk.signing import KeySigner, SignerIdentity
from kiosk.sim.feed.client import FeedSinkSender


async def enqueue_forever(
    signer: KeySigner, key: FileDeviceKey, db: Path, acks: Path, prefix: str, ready: int
) -> None:
    store = await OutboxStore.open(db, key, SystemClock())
    os.write(ready, b"r")
    with acks.open("a", buffering=1) as out:
        n = 0
        while True:
            name = f"{prefix}-{n}"
            await store.enqueue(
                kind="dmp.submit",
                idempotency_key=name,
                payload=name.encode() * 8,
                signer=signer,
                statements=[("INSERT INTO business (key) VALUES (?)", (name,))],
            )
            out.write(name + "\n")  # the acknowledgement: only after enqueue returned
            n += 1


class CrashingSender:
    """Stands for a payload that crashes the worker's process (a parser bug, say)."""

    def __init__(self, inner: FeedSinkSender) -> None:
        self.inner = inner

    async def send(self, item: OutboxItem) -> Ack:
        if item.payload.startswith(b"POISON"):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.kill(os.getpid(), signal.SIGSEGV)
        return await self.inner.send(item)


async def sync_until_idle(
    key: FileDeviceKey, db: Path, url: str, rate: float, tls: ssl.SSLContext, ready: int
) -> None:
    """A worker started by its service manager: claim, send what is due, exit when idle."""
    store = await OutboxStore.open(db, key, SystemClock())
    async with httpx.AsyncClient(timeout=5.0, verify=tls) as http:
        sender = CrashingSender(
            FeedSinkSender(http, url, establishment="3750100000", software="kiosk")
        )
        policy = SyncPolicy(rate_per_s=rate, backoff_base_s=0.5, backoff_cap_s=2.0)
        worker = SyncWorker(store, sender, clock=SystemClock(), policy=policy)
        await worker.claim()
        os.write(ready, b"r")
        while (await worker.run_once()).offline:
            pass
    await store.close()


async def sync_forever(
    key: FileDeviceKey, db: Path, url: str, rate: float, tls: ssl.SSLContext, ready: int
) -> None:
    store = await OutboxStore.open(db, key, SystemClock())
    async with httpx.AsyncClient(timeout=5.0, verify=tls) as http:
        sender = FeedSinkSender(http, url, establishment="3750100000", software="kiosk")
        # A row in flight at a kill waits a crash backoff: keep it short under a kill storm.
        policy = SyncPolicy(
            rate_per_s=rate,
            offline_cap_s=0.05,
            idle_poll_s=0.05,
            backoff_base_s=0.01,
            backoff_cap_s=0.1,
        )
        worker = SyncWorker(store, sender, clock=SystemClock(), policy=policy)
        await worker.claim()
        os.write(ready, b"r")
        await worker.run(asyncio.Event())


async def warm_up(tls: ssl.SSLContext) -> None:
    """Import what httpx loads lazily on first use, once, before any fork."""
    async with httpx.AsyncClient(verify=tls, timeout=1.0) as http:
        with contextlib.suppress(httpx.HTTPError):
            await http.get("http://127.0.0.1:9/")  # the discard port: refused at once


def child(
    command: dict[str, str],
    signer: KeySigner,
    key: FileDeviceKey,
    log: Path,
    tls: ssl.SSLContext,
    ready: int,
) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(err, 2)
    try:
        if command["op"] == "enqueue":
            coro = enqueue_forever(
                signer, key, Path(command["db"]), Path(command["acks"]), command["prefix"], ready
            )
        else:
            run = sync_until_idle if command["op"] == "sync_once" else sync_forever
            coro = run(key, Path(command["db"]), command["url"], float(command["rate"]), tls, ready)
        asyncio.run(coro)
    finally:
        os._exit(1)


def main() -> None:
    key_pem, cert_pem, device_key, log = (Path(a) for a in sys.argv[1:5])
    signer = KeySigner.from_pem_files(key_pem, cert_pem, SignerIdentity("3750100000/ACC", "ACC"))
    key = FileDeviceKey.load_or_create(device_key)
    tls = ssl.create_default_context()  # loading CA files costs ~0.5 s on a loaded machine
    asyncio.run(warm_up(tls))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "wait":
            _, status = os.waitpid(int(command["pid"]), 0)
            print(json.dumps({"status": status}), flush=True)
            continue
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(readable)
            child(command, signer, key, log, tls, writable)
        os.close(writable)
        ready = os.read(readable, 1) == b"r"  # EOF if the child died first
        os.close(readable)
        print(json.dumps({"pid": pid, "ready": ready}), flush=True)


if __name__ == "__main__":
    main()
