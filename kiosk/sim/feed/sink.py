"""A stand-in for the DMP's feeding endpoint, run as its own process (Starlette on uvicorn).

The outbox is tested against it until the DMP simulator lands: it behaves like the
service where the outbox's guarantees are at stake.

* Deduplication by idempotency key in its own SQLite file (WAL):
  a resent item is acknowledged as a duplicate, never stored twice.
* A token bucket of ``rate`` transactions per second (default 5, seed 000) per
  establishment + software pair; beyond it, a transient fault ``RATE_LIMIT``.
* Fault injection, queued and consumed one request at a time: ``5xx`` (transient
  fault), ``permanent`` (a SOAP-like fault with a code), ``latency`` (answer late),
  ``lost`` (commit, then drop the connection before the answer: the client cannot
  know it succeeded).
* Counters and the received items are queryable (``GET /_sink/stats``, ``/_sink/items``).

Run: ``python -m kiosk.sim.feed.sink --db FILE --port-file FILE`` (ephemeral port,
written to the port file once listening).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kiosk.sim.component import WorldHost

__all__ = ["Fault", "FeedSink", "FeedSinkComponent", "FeedSinkProcess", "build_app", "main"]

FAULT_MODES = ("5xx", "permanent", "latency", "lost")


@dataclass
class Fault:
    """One injected behaviour, applied to the next request that reaches it."""

    mode: str
    code: str = "DMP_FAULT"
    latency_s: float = 0.0


class _Dropped(Exception):
    """Raised after the response started, so the server closes the connection mid-answer."""


class _LostResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"4096"), (b"content-type", b"application/json")],
            }
        )
        raise _Dropped


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class FeedSink:
    """The sink's state: its database, rate limit, faults and counters."""

    db_path: Path
    rate: float = 5.0
    faults: deque[Fault] = field(default_factory=deque)
    counters: dict[str, int] = field(default_factory=dict)
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._db = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")  # the sink is not the one killed
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " remote_id TEXT NOT NULL, size INTEGER NOT NULL, received_at REAL NOT NULL,"
            " deliveries INTEGER NOT NULL DEFAULT 1)"
        )
        for name in ("requests", "accepted", "duplicates", "rate_limited", "faults", "lost"):
            self.counters.setdefault(name, 0)

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _admit(self, pair: tuple[str, str]) -> float | None:
        """None when admitted, else seconds until a token is free."""
        now = time.monotonic()
        bucket = self._buckets.setdefault(pair, _Bucket(self.rate, now))
        bucket.tokens = min(self.rate, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _commit(self, key: str, kind: str, size: int) -> tuple[str, bool]:
        with self._lock:
            row = self._db.execute("SELECT remote_id FROM items WHERE key = ?", (key,)).fetchone()
            if row is not None:
                self._db.execute(
                    "UPDATE items SET deliveries = deliveries + 1 WHERE key = ?", (key,)
                )
                return str(row[0]), True
            count = self._db.execute("SELECT count(*) FROM items").fetchone()[0]
            remote_id = f"DMP-{count + 1:08d}"
            self._db.execute(
                "INSERT INTO items (key, kind, remote_id, size, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, kind, remote_id, size, time.time()),
            )
            return remote_id, False

    def items(self) -> list[dict[str, Any]]:
        """What was stored, in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, kind, remote_id, received_at, deliveries FROM items ORDER BY rowid"
            ).fetchall()
        return [
            {"key": k, "kind": kd, "remote_id": r, "received_at": t, "deliveries": d}
            for k, kd, r, t, d in rows
        ]

    async def feed(self, request: Request) -> Response:
        """The feeding transaction."""
        self._count("requests")
        key = request.headers.get("idempotency-key", "")
        kind = request.headers.get("x-kind", "")
        pair = (request.headers.get("x-establishment", ""), request.headers.get("x-software", ""))
        body = await request.body()
        if not key or not kind:
            return _fault(400, "BAD_REQUEST", permanent=True)
        wait = self._admit(pair)
        if wait is not None:
            self._count("rate_limited")
            return _fault(429, "RATE_LIMIT", permanent=False, retry_after=wait)
        fault = self.faults.popleft() if self.faults else None
        if fault is not None and fault.mode == "latency":
            await asyncio.sleep(fault.latency_s)
        elif fault is not None and fault.mode == "5xx":
            self._count("faults")
            return _fault(503, fault.code, permanent=False)
        elif fault is not None and fault.mode == "permanent":
            self._count("faults")
            return _fault(500, fault.code, permanent=True)
        remote_id, duplicate = await asyncio.to_thread(self._commit, key, kind, len(body))
        self._count("duplicates" if duplicate else "accepted")
        if fault is not None and fault.mode == "lost":
            self._count("lost")
            return _LostResponse()
        return JSONResponse({"ack": {"key": key, "remote_id": remote_id, "duplicate": duplicate}})

    async def stats(self, request: Request) -> Response:
        """Counters, and how many distinct items are stored."""
        with self._lock:
            stored = self._db.execute("SELECT count(*) FROM items").fetchone()[0]
        return JSONResponse({**self.counters, "stored": stored, "queued_faults": len(self.faults)})

    async def items_http(self, request: Request) -> Response:
        """Every stored item."""
        return JSONResponse(await asyncio.to_thread(self.items))

    async def inject(self, request: Request) -> Response:
        """Queue faults: ``{"mode": …, "count": n, "code": …, "latency_s": …}``.

        ``"pattern": [mode, …]`` instead of ``mode`` queues the pattern ``count`` times.
        """
        spec = await request.json()
        modes = [str(m) for m in spec.get("pattern", [spec.get("mode", "")])]
        if not modes or any(mode not in FAULT_MODES for mode in modes):
            return _fault(400, "BAD_FAULT", permanent=True)
        code, latency = str(spec.get("code", "DMP_FAULT")), float(spec.get("latency_s", 0))
        for _ in range(int(spec.get("count", 1))):
            self.faults.extend(Fault(mode, code, latency) for mode in modes)
        return JSONResponse({"queued": len(self.faults)})

    async def clear(self, request: Request) -> Response:
        """Forget queued faults."""
        self.faults.clear()
        return JSONResponse({"queued": 0})

    async def set_rate(self, request: Request) -> Response:
        """Change the rate limit: ``{"rate": x}``."""
        self.rate = float((await request.json())["rate"])
        self._buckets.clear()
        return JSONResponse({"rate": self.rate})


def _fault(
    status: int, code: str, *, permanent: bool, retry_after: float | None = None
) -> Response:
    body = {"fault": {"code": code, "permanent": permanent}}
    headers = {"retry-after": f"{retry_after:.3f}"} if retry_after is not None else None
    return JSONResponse(body, status_code=status, headers=headers)


def build_app(sink: FeedSink) -> Starlette:
    """The ASGI application around ``sink``."""
    return Starlette(
        routes=[
            Route("/feed", sink.feed, methods=["POST"]),
            Route("/_sink/stats", sink.stats),
            Route("/_sink/items", sink.items_http),
            Route("/_sink/faults", sink.inject, methods=["POST"]),
            Route("/_sink/faults", sink.clear, methods=["DELETE"]),
            Route("/_sink/rate", sink.set_rate, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Serve on an ephemeral port of 127.0.0.1 and publish it in ``--port-file``."""
    parser = argparse.ArgumentParser(prog="kiosk.sim.feed.sink")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    sink = FeedSink(args.db, rate=args.rate)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, 0))
    sock.listen(128)
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    tmp.replace(args.port_file)
    config = uvicorn.Config(build_app(sink), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class FeedSinkProcess:
    """A feed sink running in a child process (its own session, stopped by PID)."""

    popen: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(
        cls, directory: Path, *, rate: float = 5.0, timeout_s: float = 30.0
    ) -> FeedSinkProcess:
        """Spawn the sink with its files in ``directory`` and wait until it listens."""
        directory.mkdir(parents=True, exist_ok=True)
        port_file = directory / "feed_sink.port"
        port_file.unlink(missing_ok=True)
        log = (directory / "feed_sink.log").open("ab")
        popen = subprocess.Popen(
            _sink_argv(directory, port_file, rate),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        port = _wait_for_port(port_file, popen, timeout_s)
        return cls(popen, f"http://127.0.0.1:{port}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; the process is ours, addressed by its PID."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _sink_argv(directory: Path, port_file: Path, rate: float) -> list[str]:
    """The command line of a sink process keeping its files in ``directory``."""
    return [
        sys.executable,
        "-m",
        "kiosk.sim.feed.sink",
        "--db",
        str(directory / "feed_sink.sqlite3"),
        "--port-file",
        str(port_file),
        "--rate",
        str(rate),
    ]


def _wait_for_port(port_file: Path, popen: subprocess.Popen[bytes], timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        if popen.poll() is not None:
            raise RuntimeError(f"feed sink exited with {popen.returncode}")
        time.sleep(0.02)
    raise TimeoutError("feed sink did not start")


class FeedSinkComponent:
    """The feed sink in the simulated world (``facts["feed_sink_url"]``)."""

    name = "feed_sink"

    def __init__(self, rate: float = 5.0) -> None:
        self._rate = rate
        self._url = ""

    def start(self, world: WorldHost) -> None:
        directory = world.state_dir / "feed_sink"
        directory.mkdir(parents=True, exist_ok=True)
        port_file = directory / "feed_sink.port"
        port_file.unlink(missing_ok=True)
        proc = world.spawn(self.name, _sink_argv(directory, port_file, self._rate))
        port = _wait_for_port(port_file, proc.popen, 30.0)
        self._url = f"http://127.0.0.1:{port}"
        world.facts["feed_sink_url"] = self._url

    def stop(self) -> None:
        """The world stops the process itself."""

    def describe(self) -> list[str]:
        return [
            f"outbox feed sink at {self._url} ({self._rate:g} tx/s per establishment+software)",
            f"counters: curl {self._url}/_sink/stats",
        ]


if __name__ == "__main__":
    main()
