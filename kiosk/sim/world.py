"""The simulated world: compose, start, supervise and stop every simulator.

Each area provides one :class:`~kiosk.sim.component.SimComponent`, listed in
:func:`default_components` (virtual readers and cards, SoftHSM2 tokens, INSi and DMP,
printer, feed sink). The world starts them in order, records every process it spawns
by PID, restarts nothing behind the user's back (a process that dies is reported),
and on exit stops each of them — its whole process group, SIGTERM then SIGKILL —
whatever happened before. Each process is started through util-linux's ``setpriv
--pdeathsig TERM``, so the kernel stops it too if the world's process dies without
stopping it (killed, or stuck and killed): no simulator outlives its world. Components
receive the world as a
:class:`~kiosk.sim.component.WorldHost` and never import this module.

The running world writes ``<state_dir>/world.json`` (:mod:`kiosk.sim.state`) so that
other commands (``kiosk sim …``, ``kiosk cards …``) can find it.

It also composes the simulated remote services into one origin, ``/insi`` and
``/dmp`` (:func:`build_services`). ``kiosk sim serve`` and the world's ``services``
component run it with uvicorn on 127.0.0.1. The listening socket is bound here,
before uvicorn starts, so port 0 gives an ephemeral port that is known at once: the
URL is written to a ready file for the parent process (no fixed ports in tests, no
polling of a log). Tests mount the same app in-process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.clock import Clock, SystemClock
from kiosk.sim.component import SimComponent, SpawnedProcess, WorldHost
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import ensure_test_pki
from kiosk.sim.state import STATE_FILE, write_world_state
from kiosk.soap.wssec import IssuedBy

__all__ = [
    "DEFAULT_PORT",
    "ServicesComponent",
    "SimServices",
    "SimWorld",
    "bind",
    "build_services",
    "default_components",
    "serve",
]

log = logging.getLogger(__name__)


@dataclass
class SimWorld:
    """The running set of simulators, with everything needed to stop them."""

    state_dir: Path
    components: list[SimComponent] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """Environment for clients of the world (e.g. ``PCSCLITE_CSOCK_NAME``, ``SOFTHSM2_CONF``)."""
    facts: dict[str, object] = field(default_factory=dict)
    """What components publish for each other and for ``world.json`` (ports, paths)."""
    processes: list[SpawnedProcess] = field(default_factory=list)
    _started: list[SimComponent] = field(default_factory=list)

    def spawn(
        self,
        component: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_name: str | None = None,
    ) -> SpawnedProcess:
        """Start a process in its own process group, logging to ``state_dir/log``."""
        log_dir = self.state_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        out = (log_dir / f"{log_name or component}.log").open("ab")
        full_env = {**os.environ, **self.env, **(env or {})}
        popen = subprocess.Popen(
            bound_to_parent(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
        out.close()
        proc = SpawnedProcess(component, argv, popen)
        self.processes.append(proc)
        log.info("started %s pid=%d: %s", component, popen.pid, " ".join(argv))
        self._write_state()
        return proc

    def start(self) -> None:
        """Start every component in order; on failure stop what was started and re-raise."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            for component in self.components:
                component.start(self)
                self._started.append(component)
        except BaseException:
            self.stop()
            raise
        self._write_state()

    def dead_processes(self) -> list[SpawnedProcess]:
        """Processes that exited on their own."""
        return [p for p in self.processes if p.popen.poll() is not None]

    def describe(self) -> list[str]:
        """What runs now, component by component."""
        lines: list[str] = []
        for component in self._started:
            lines.append(f"[{component.name}]")
            lines.extend(f"  {line}" for line in component.describe())
        for proc in self.processes:
            state = "running" if proc.popen.poll() is None else f"exited {proc.popen.returncode}"
            lines.append(f"  pid {proc.pid} ({proc.component}): {state}")
        return lines

    def stop(self, grace_s: float = 3.0) -> None:
        """Stop components in reverse order, then every spawned process group by PID."""
        for component in reversed(self._started):
            try:
                component.stop()
            except Exception:
                log.exception("stopping %s failed", component.name)
        self._started.clear()
        for proc in self.processes:
            _signal_group(proc.popen, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.processes:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                proc.popen.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen, signal.SIGKILL)
                proc.popen.wait()
        self.processes.clear()
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / STATE_FILE).unlink()

    @contextlib.contextmanager
    def running(self) -> Iterator[SimWorld]:
        """Start, yield, and stop whatever happens."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "env": self.env,
            "facts": {k: v for k, v in self.facts.items() if _jsonable(v)},
            "processes": [{"component": p.component, "pid": p.pid} for p in self.processes],
        }
        write_world_state(self.state_dir, state)


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def bound_to_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` run so that the kernel sends it SIGTERM when the thread that starts it dies.

    ``setpriv --pdeathsig`` sets the signal and then execs ``argv`` (same PID, which the
    world records). The world is started from its process's main thread, whose death
    is the process's. Without ``setpriv`` (not util-linux), ``argv`` as it is.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return list(argv)
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)


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
    PKI directory, i.e. in the world's state directory) and starts with the fixture
    patients of ``kiosk/sim/data/dmp_population.toml``.
    """
    pki = ensure_test_pki(pki_dir)
    clock = clock or SystemClock()
    trust = IssuedBy((pki.ca_certificate,), clock.now)
    insi = InsiSimulator(trust, clock=clock)
    dmp = DmpSimulator(trust, dmp_database or pki_dir.parent / "dmp.sqlite3", clock=clock)
    dmp.records.load_population()  # Mon espace santé's patients (seed 004)
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

    def start(self, world: WorldHost) -> None:
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


ComponentFactory = Callable[[], SimComponent]


def default_components() -> list[SimComponent]:
    """The simulators of the demo, in start order; each area adds its own here."""
    # Imported when a world is composed, so ``kiosk sim serve`` (only build_services)
    # loads no card, token or printer code.
    from kiosk.sim.cards.desk import CardDeskComponent
    from kiosk.sim.documents import DocumentsComponent
    from kiosk.sim.feed.sink import FeedSinkComponent
    from kiosk.sim.hsm import TokensComponent
    from kiosk.sim.network import NetworkComponent
    from kiosk.sim.printer.control import PrinterComponent
    from kiosk.sim.scanner import ScannerComponent

    factories: list[ComponentFactory] = [
        CardDeskComponent,
        TokensComponent,
        ServicesComponent,
        NetworkComponent,  # in front of the services: publishes the URLs clients use
        PrinterComponent,
        ScannerComponent,
        FeedSinkComponent,
        DocumentsComponent,
    ]
    return [factory() for factory in factories]
