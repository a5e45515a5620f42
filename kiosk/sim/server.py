"""One origin for the simulated remote services: ``/insi`` and ``/dmp``.

``kiosk sim serve`` and the world's ``services`` component run it with uvicorn on
127.0.0.1. The listening socket is bound here, before uvicorn starts, so port 0 gives
an ephemeral port that is known at once: the URL is written to a ready file for the
parent process (no fixed ports in tests, no polling of a log). Tests mount the same
app in-process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.clock import Clock, SystemClock
from kiosk.sim.dmp_service import DmpSimulator
from kiosk.sim.insi_service import InsiSimulator
from kiosk.sim.pki import ensure_test_pki
from kiosk.soap.wssec import IssuedBy

if TYPE_CHECKING:
    from kiosk.sim.environment import SimWorld

__all__ = [
    "DEFAULT_PORT",
    "ServicesComponent",
    "SimServices",
    "bind",
    "build_services",
    "serve",
]

log = logging.getLogger(__name__)

DEFAULT_PORT = 8471
"""The port of the built-in settings' endpoints (``kiosk.config``)."""


@dataclass
class SimServices:
    """The simulators behind one ASGI app, with their driver objects."""

    app: Starlette
    insi: InsiSimulator
    dmp: DmpSimulator


def build_services(
    pki_dir: Path, *, dmp_database: Path | None = None, clock: Clock | None = None
) -> SimServices:
    """The services app; both services trust the test CA found (or generated) in ``pki_dir``.

    The DMP keeps its records in ``dmp_database`` (default: ``dmp.sqlite3`` beside the
    PKI directory, i.e. in the world's state directory).
    """
    pki = ensure_test_pki(pki_dir)
    clock = clock or SystemClock()
    trust = IssuedBy((pki.ca_certificate,), clock.now)
    insi = InsiSimulator(trust, clock=clock)
    dmp = DmpSimulator(trust, dmp_database or pki_dir.parent / "dmp.sqlite3", clock=clock)
    app = Starlette(
        routes=[Mount("/insi", app=insi.app), Mount("/dmp", app=dmp.app)],
        middleware=[Middleware(_BareServicePaths, prefixes=("/insi", "/dmp"))],
    )
    return SimServices(app=app, insi=insi, dmp=dmp)


class _BareServicePaths:
    """Serve ``POST /insi`` as ``/insi/``: a real service answers at its endpoint URL.

    Without this, Starlette's mount answers the bare path with a 307 redirect, which a
    SOAP client must not follow (a POST body is not replayed silently).
    """

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.prefixes:
            scope = {
                **scope,
                "path": scope["path"] + "/",
                "raw_path": scope["path"].encode() + b"/",
            }
        await self.app(scope, receive, send)


def bind(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> socket.socket:
    """A listening TCP socket; ``port=0`` picks a free one (read it with ``getsockname``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY. Without it a pre-bound socket handed to
    # uvicorn answers each request ~40 ms late (Nagle against the client's delayed ACK;
    # measured by tests/bench/bench_identity.py, same trap as vpcd in FIELD-NOTES.md).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve(app: Starlette, sock: socket.socket, *, ready_file: Path | None = None) -> None:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM; write ``{"url": …}`` to ``ready_file``."""
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        info = {"url": url, "insi": f"{url}/insi", "dmp": f"{url}/dmp", "pid": os.getpid()}
        tmp.write_text(json.dumps(info))
        tmp.replace(ready_file)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


@dataclass
class ServicesComponent:
    """The SimComponent that runs ``kiosk sim serve`` and publishes its URL."""

    name: str = "services"
    port: int = DEFAULT_PORT
    url: str = ""
    _ready: Path | None = field(default=None, repr=False)

    def start(self, world: SimWorld) -> None:
        """Spawn the server, wait for its ready file, publish ``services_url`` and ``insi_url``."""
        self._ready = world.state_dir / "services.json"
        self._ready.unlink(missing_ok=True)
        argv = [
            sys.executable, "-m", "kiosk", "sim", "serve",
            "--port", str(self.port),
            "--pki-dir", str(world.state_dir / "pki"),
            "--ready-file", str(self._ready),
        ]  # fmt: skip
        proc = world.spawn(self.name, argv)
        deadline = time.monotonic() + 60.0  # the first run generates the test PKI
        while not self._ready.exists():
            if proc.popen.poll() is not None:
                raise RuntimeError(f"kiosk sim serve exited with {proc.popen.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("kiosk sim serve did not start within 60 s")
            time.sleep(0.05)
        info = json.loads(self._ready.read_text())
        self.url = str(info["url"])
        world.facts["services_url"] = self.url
        world.facts["insi_url"] = str(info["insi"])
        world.facts["dmp_url"] = str(info["dmp"])

    def stop(self) -> None:
        """The world stops the process; only the ready file is ours to remove."""
        if self._ready is not None:
            self._ready.unlink(missing_ok=True)

    def describe(self) -> list[str]:
        """Where the services answer and how to reach them."""
        return [
            f"INSi simulator: {self.url}/insi",
            f"DMP simulator: {self.url}/dmp",
            "search: kiosk insi search --family MARTIN-TEST --given PAUL --sex M "
            "--birth-date 1980-05-23",
            "faults: kiosk sim insi-fault timeout|http500|soap_fault|malformed|hostile|huge",
        ]
