"""The simulated 2D scanner of the world, fed from any process, and the fixture people's labels.

A real serial scanner sends each symbol's bytes then CR to whoever holds its port.
The world's scanner does the same on a Unix socket, ``<state_dir>/scanner.sock``: a
client that sends ``listen`` receives every scan as ``bytes CR LF`` (the kiosk's
:class:`~kiosk.scanning.devices.SocketScanner`, framed like a serial scanner); a
client that sends ``scan <hex>`` makes the scanner read those bytes and gets back
``{"ok": true, "listeners": N}``. ``kiosk sim scan PERSON`` and the demo panel are
such clients, so the TUI reacts to both alike: it only watches its scanner.

The people are the fictitious INSi population (``kiosk/sim/data/insi_population.toml``),
named ``<given>-<family>`` (``paul-martin``), with the birth place added for homonyms;
their label is built by the INS Data Matrix encoder (:mod:`kiosk.domain.datamatrix`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.errors import InvalidInput, NotFound, Unavailable
from kiosk.locale import msg

if TYPE_CHECKING:
    from kiosk.sim.component import WorldHost
    from kiosk.sim.insi.service import SimPerson

__all__ = ["SCANNER_SOCKET", "ScannerComponent", "people", "person_payload", "scan_request"]

SCANNER_SOCKET = "scanner.sock"
_MAX_LINE = 64 * 1024


@cache
def people() -> dict[str, SimPerson]:
    """The fixture people by name (``paul-martin``; homonyms get ``-<birth place>``)."""
    from kiosk.sim.insi.service import load_population

    _, population = load_population()
    names = [
        f"{p.given_names[0]}-{p.family_name.removesuffix('-TEST')}".lower() for p in population
    ]
    return {
        (f"{name}-{p.birth_place}" if names.count(name) > 1 else name): p
        for name, p in zip(names, population, strict=True)
    }


def person_payload(name: str) -> str:
    """The INS Data Matrix payload of fixture person ``name`` (test OID, or NIA)."""
    from kiosk.domain.datamatrix import build_payload
    from kiosk.domain.ins import OID_INS_NIA, OID_INS_NIR_TEST, Ins

    person = people().get(name)
    if person is None:
        raise NotFound(msg("sim.scanner.person", name=name, known=", ".join(people())))
    oid = OID_INS_NIA if person.kind == "NIA" else OID_INS_NIR_TEST
    traits = person.traits()
    return build_payload(Ins.of(person.matricule, oid), traits)


def scan_request(path: Path, payload: bytes, *, timeout_s: float = 5.0) -> int:
    """Make the world's scanner read ``payload``; how many kiosks were listening."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(b"scan " + payload.hex().encode() + b"\n")
            reply: dict[str, Any] = json.loads(sock.makefile("rb").readline() or b"{}")
    except (OSError, ValueError) as exc:
        raise Unavailable(msg("sim.scanner.unavailable"), detail=str(path)) from exc
    if not reply.get("ok"):
        raise InvalidInput(msg("sim.scanner.refused"), detail=str(reply.get("error")))
    return int(reply.get("listeners", 0))


class _Relay:
    """The socket server: listeners receive every scan, feeders send them."""

    def __init__(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(8)
        self._listeners: list[socket.socket] = []
        self._lock = threading.Lock()
        self.scans = 0

    def serve_forever(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            line = conn.makefile("rb").readline(_MAX_LINE).strip()
        except OSError:
            conn.close()
            return
        if line == b"listen":
            conn.settimeout(None)
            with self._lock:
                self._listeners.append(conn)
            return  # kept open until the kiosk leaves or the world stops
        with conn:
            verb, _, argument = line.partition(b" ")
            reply: dict[str, object]
            try:
                if verb != b"scan":
                    raise ValueError(verb.decode(errors="replace"))
                reply = {"ok": True, "listeners": self._broadcast(bytes.fromhex(argument.decode()))}
            except (ValueError, UnicodeDecodeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def _broadcast(self, payload: bytes) -> int:
        frame = payload.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
        with self._lock:
            alive: list[socket.socket] = []
            for listener in self._listeners:
                try:
                    listener.sendall(frame)
                    alive.append(listener)
                except OSError:
                    listener.close()
            self._listeners = alive
            self.scans += 1
            return len(alive)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with self._lock:
            for listener in self._listeners:
                with contextlib.suppress(OSError):
                    listener.shutdown(socket.SHUT_RDWR)
                listener.close()
            self._listeners.clear()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class ScannerComponent:
    """``SimComponent`` of the scanner: a relay thread; publishes ``facts["scanner_socket"]``."""

    name = "scanner"

    def __init__(self) -> None:
        self._relay: _Relay | None = None
        self._thread: threading.Thread | None = None

    def start(self, world: WorldHost) -> None:
        """Listen on ``<state_dir>/scanner.sock`` in a thread of the world's process."""
        self._relay = _Relay(world.state_dir / SCANNER_SOCKET)
        self._thread = threading.Thread(
            target=self._relay.serve_forever, name="sim-scanner", daemon=True
        )
        self._thread.start()
        world.facts["scanner_socket"] = str(self._relay.path)

    def stop(self) -> None:
        """Close the socket and every listener; the thread ends with its accept."""
        if self._relay is not None:
            self._relay.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._relay = self._thread = None

    def describe(self) -> list[str]:
        """How to make it read a label."""
        return [
            f"scanner socket: {self._relay.path if self._relay else '-'}",
            f"people: {', '.join(people())}",
            "scan: kiosk sim scan paul-martin",
        ]
