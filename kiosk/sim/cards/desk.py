"""The simulated desk: a private pcscd, its two-slot vpcd reader, and virtual cards on command.

:class:`CardDesk` is what tests drive in-process (``desk.insert("family")``,
``desk.pull("family")``). For ``kiosk demo`` the :class:`CardDeskComponent` spawns
``python -m kiosk.sim.cards.desk serve``, a process that owns pcscd and the cards
and answers one JSON request per line on a Unix control socket
(``<state_dir>/cards.sock``); ``kiosk sim card insert|pull|list`` are its clients.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import InvalidInput, KioskError, NotFound, Unavailable
from kiosk.locale import msg
from kiosk.sim.cards.pcscd import PcscDaemon
from kiosk.sim.cards.virtual import VirtualCard, card_names, load_card
from kiosk.sim.component import WorldHost

__all__ = [
    "CardDesk",
    "CardDeskComponent",
    "ControlServer",
    "control_request",
    "main",
]

VITALE_SLOT = 0
CPS_SLOT = 1


@dataclass
class CardDesk:
    """Virtual cards in the slots of one private pcscd."""

    daemon: PcscDaemon
    cards: dict[str, tuple[str, VirtualCard]] = field(default_factory=dict)
    """Inserted cards by name: (slot, card)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def slots(self) -> list[str]:
        """Slot names, Vitale slot first."""
        return list(self.daemon.slots)

    def insert(self, name: str, slot: str | None = None) -> VirtualCard:
        """Insert fixture card ``name``; default slot: Vitale cards first slot, CPE second."""
        spec = load_card(name)
        with self._lock:
            if name in self.cards:
                raise InvalidInput(msg("sim.cards.desk.card_desk_insert", name=name))
            slot = slot or self.slots[CPS_SLOT if spec.kind == "cpe" else VITALE_SLOT]
            if slot not in self.daemon.slots:
                raise NotFound(
                    msg("sim.cards.desk.card_desk_insert_2", slot=slot, join=", ".join(self.slots)),
                )
            if any(s == slot for s, _ in self.cards.values()):
                raise InvalidInput(msg("sim.cards.desk.card_desk_insert_3", slot=slot))
            card = VirtualCard(spec, self.daemon.slots[slot]).insert()
            self.cards[name] = (slot, card)
        return card

    def pull(self, name: str) -> None:
        """Take card ``name`` out of its slot."""
        with self._lock:
            entry = self.cards.pop(name, None)
        if entry is None:
            raise NotFound(msg("sim.cards.desk.card_desk_pull", name=name))
        entry[1].pull()

    def pull_all(self) -> None:
        """Empty every slot."""
        for name in list(self.cards):
            with contextlib.suppress(NotFound):
                self.pull(name)

    def listing(self) -> dict[str, Any]:
        """Slots with the card in each, and every fixture card name."""
        by_slot = {slot: name for name, (slot, _) in self.cards.items()}
        return {
            "slots": [{"reader": s, "card": by_slot.get(s)} for s in self.slots],
            "available": card_names(),
        }


class ControlServer:
    """One JSON request per line on a Unix socket: insert, pull, list."""

    def __init__(self, desk: CardDesk, path: Path) -> None:
        self.desk = desk
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(8)

    def serve_forever(self) -> None:
        """Answer requests until the socket is closed."""
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                line = stream.readline()
                stream.write(json.dumps(self.handle(line)).encode() + b"\n")

    def handle(self, line: bytes) -> dict[str, Any]:
        """Run one request; errors come back as their code and messages."""
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "insert":
                self.desk.insert(str(request["card"]), request.get("reader"))
            elif op == "pull":
                self.desk.pull(str(request["card"]))
            elif op != "list":
                raise InvalidInput(msg("sim.cards.desk.control_server_handle", op=op))
            return {"ok": True, **self.desk.listing()}
        except KioskError as exc:
            return {"ok": False, "code": exc.code, "fr": exc.message_fr, "en": exc.message_en}
        except (ValueError, KeyError, AttributeError) as exc:
            return {"ok": False, "code": "INVALID_INPUT", "fr": str(exc), "en": str(exc)}

    def close(self) -> None:
        """Stop accepting requests."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


def control_request(path: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Send one request to a running desk; ``Unavailable`` when none answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply: dict[str, Any] = json.loads(sock.makefile("rb").readline())
    except (OSError, ValueError) as exc:
        raise Unavailable(
            msg("sim.cards.desk.control_request"),
            detail=str(path),
        ) from exc
    return reply


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.sim.cards.desk serve --state-dir DIR``: pcscd + cards + control socket."""
    parser = argparse.ArgumentParser(prog="kiosk.sim.cards.desk")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument(
        "--stock-vpcd",
        action="store_true",
        help="stock vpcd under pcscd's 400 ms presence poll, without the card-event wrapper",
    )
    args = parser.parse_args(argv)
    state: Path = args.state_dir
    log = (state / "pcscd.log").open("ab")

    def same_group(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        # Same process group as this server: the world's stop-by-group reaches pcscd too.
        return subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env={**os.environ, **env}
        )

    daemon = PcscDaemon(state / "pcscd", spawner=same_group, card_events=not args.stock_vpcd)
    daemon.start()
    desk = CardDesk(daemon)
    server = ControlServer(desk, state / "cards.sock")
    # Written whole, then renamed: the world reads it as soon as the name exists.
    ready = state / "cards.json.tmp"
    ready.write_text(json.dumps({"slots": daemon.slots, "pid": os.getpid()}))
    ready.replace(state / "cards.json")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while not stop.is_set() and not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        desk.pull_all()
        daemon.stop()
    return 0


class CardDeskComponent:
    """``SimComponent`` of the readers and cards, for ``kiosk demo``."""

    name = "cards"

    def __init__(self, card_events: bool = True) -> None:
        self.state_dir: Path | None = None
        self.card_events = card_events

    def start(self, world: WorldHost) -> None:
        """Spawn the desk process; publish its socket and ``PCSCLITE_CSOCK_NAME``."""
        state: Path = world.state_dir / "cards"
        state.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (state / "cards.json").unlink()
        self.state_dir = state
        argv = [sys.executable, "-m", "kiosk.sim.cards.desk", "serve", "--state-dir", str(state)]
        if not self.card_events:
            argv.append("--stock-vpcd")
        world.spawn(self.name, argv, log_name="cards")
        deadline = time.monotonic() + 20
        while not (state / "cards.json").exists():
            if time.monotonic() > deadline:
                raise Unavailable(
                    msg("sim.cards.desk.card_desk_component_start"),
                    detail=str(state),
                )
            time.sleep(0.05)
        world.env["PCSCLITE_CSOCK_NAME"] = str(state / "pcscd" / "run" / "pcscd.comm")
        world.facts["cards_control"] = str(state / "cards.sock")
        world.facts["cards_slots"] = json.loads((state / "cards.json").read_text())["slots"]

    def stop(self) -> None:
        """Nothing beyond the spawned process, which the world stops by PID."""

    def describe(self) -> list[str]:
        """How to drive the cards."""
        return [
            "two-slot reader 'Kiosk Desk 00 00' (Vitale) / 'Kiosk Desk 00 01' (CPS/CPE)",
            f"cards: {', '.join(card_names())}",
            "insert: kiosk sim card insert family   pull: kiosk sim card pull family",
            "watch:  kiosk cards watch              read: kiosk cards read",
        ]


if __name__ == "__main__":
    raise SystemExit(main())
