"""The network between the kiosk and the simulated INSi and DMP, which can be cut.

A real outage looks like this to the client: the connection is refused, and the
connections it held die. So each remote service gets a TCP relay of its own on
127.0.0.1 in front of the simulated services' origin, and the world publishes the
relays' URLs as ``insi_url`` and ``dmp_url`` (the clients and the footer's probes
use them). Cutting a service closes its listening socket (new connections are
refused) and aborts the connections under way; restoring listens again on the same
port. The control socket ``<state_dir>/network.sock`` takes one JSON request per
line (``{"op": "cut"|"restore"|"status", "services": [...]}``) from
``kiosk sim network …`` and the demo panel, and answers each service's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kiosk.errors import InvalidInput, Unavailable
from kiosk.locale import msg

if TYPE_CHECKING:
    from kiosk.sim.component import WorldHost

__all__ = ["NETWORK_SERVICES", "NETWORK_SOCKET", "NetworkComponent", "network_request"]

NETWORK_SERVICES = ("insi", "dmp")
NETWORK_SOCKET = "network.sock"


def network_request(
    path: Path, op: str, services: Sequence[str] = NETWORK_SERVICES, *, timeout_s: float = 5.0
) -> dict[str, bool]:
    """Cut, restore or read the simulated network; each service's state (True: reachable)."""
    request = {"op": op, "services": list(services)}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply: dict[str, Any] = json.loads(sock.makefile("rb").readline() or b"{}")
    except (OSError, ValueError) as exc:
        raise Unavailable(msg("sim.network.unavailable"), detail=str(path)) from exc
    if not reply.get("ok"):
        raise InvalidInput(msg("sim.network.refused", op=op), detail=str(reply.get("error")))
    return {str(k): bool(v) for k, v in reply["reachable"].items()}


class _Link:
    """One service's relay: a listening port forwarding to the upstream origin."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(
                self._relay, "127.0.0.1", self.port, reuse_address=True
            )
            self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.open):
            writer.transport.abort()  # the peer sees its connection reset
        self.open.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        for w in (writer, up_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:  # no Nagle: see kiosk.sim.world.bind
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.open |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self.open -= {writer, up_writer}
            for w in (writer, up_writer):
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


class NetworkComponent:
    """``SimComponent`` of the network to INSi and DMP; starts after the services."""

    name = "network"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._links: dict[str, _Link] = {}
        self._control: asyncio.AbstractServer | None = None
        self._path: Path | None = None

    def start(self, world: WorldHost) -> None:
        """Open a relay per service and the control socket; publish the relays' URLs."""
        origin = urlsplit(str(world.facts["services_url"]))
        upstream = (origin.hostname or "127.0.0.1", int(origin.port or 80))
        self._links = {name: _Link(upstream) for name in NETWORK_SERVICES}
        self._path = world.state_dir / NETWORK_SOCKET
        self._path.unlink(missing_ok=True)
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="sim-network", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(self._path), loop).result(timeout=10)
        for name, link in self._links.items():
            world.facts[f"{name}_url"] = f"http://127.0.0.1:{link.port}/{name}"
        world.facts["network_control"] = str(self._path)

    async def _open(self, path: Path) -> None:
        for link in self._links.values():
            await link.up()
        self._control = await asyncio.start_unix_server(self._handle, str(path))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            op = request.get("op")
            names = [str(n) for n in request.get("services") or NETWORK_SERVICES]
            unknown = [n for n in names if n not in self._links]
            if op not in ("cut", "restore", "status") or unknown:
                raise ValueError(f"op={op!r} services={unknown}")
            for name in names:
                if op == "cut":
                    await self._links[name].down()
                elif op == "restore":
                    await self._links[name].up()
            reply: dict[str, Any] = {"ok": True, "reachable": self.reachable()}
        except (ValueError, AttributeError, OSError) as exc:
            reply = {"ok": False, "error": str(exc)}
        writer.write(json.dumps(reply).encode() + b"\n")
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()

    def reachable(self) -> dict[str, bool]:
        """Each service: is its relay listening."""
        return {name: link.server is not None for name, link in self._links.items()}

    async def _close(self) -> None:
        if self._control is not None:
            self._control.close()
        for link in self._links.values():
            await link.down()

    def stop(self) -> None:
        """Close every relay and connection, then the thread."""
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self._loop = self._thread = None

    def describe(self) -> list[str]:
        """Where the relays listen and how to cut them."""
        lines = [f"{name}: 127.0.0.1:{link.port}" for name, link in self._links.items()]
        return [*lines, "cut: kiosk sim network cut insi|dmp|all   restore: … restore …"]
