"""Virtual Vitale and CPE cards speaking the vpcd socket protocol.

A virtual card is a TCP client of one vpcd slot (``vsmartcard-vpcd``): inserting
the card is connecting, pulling it is closing the socket. Every message is a 2-byte
big-endian length and a payload; a 1-byte payload is a control message (``00``
power off, ``01`` power on, ``02`` reset, ``04`` ATR request), anything longer is
an APDU answered with a response APDU.

FIELD-NOTES.md "PC/SC": vpcd sends the length and the payload in two writes, so
the card re-arms ``TCP_QUICKACK`` after *every* ``recv`` — without it Nagle and
delayed ACKs cost ~44 ms per APDU.

Card contents come from ``kiosk/sim/data/cards/*.toml`` (fictitious people under the
INS test OID, DOMAIN.md §7); the Vitale layout is DOMAIN.md §5 and is built with the
same pure encoders the reader parses with (``kiosk.domain.vitale``). Fault options
make broken cards: forced status words, truncated or over-long TLV, a card that goes
silent after N APDUs, a card pulled when APDU number N arrives.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kiosk.domain.nir import Nir
from kiosk.domain.vitale import (
    MAP_FID,
    MF_VITALE_AID,
    VITALE_AID,
    Beneficiary,
    CardDescription,
    FileRef,
    VitaleMap,
    build_beneficiary,
    build_card_description,
    build_map,
)
from kiosk.errors import NotFound
from kiosk.locale import msg

__all__ = [
    "CARDS_DIR",
    "CardLogic",
    "CardSpec",
    "CpeLogic",
    "VirtualCard",
    "VitaleLogic",
    "card_names",
    "load_card",
]

log = logging.getLogger(__name__)

CARDS_DIR = Path(__file__).parents[1] / "data" / "cards"
_OK = b"\x90\x00"


@dataclass(frozen=True)
class CardSpec:
    """One fixture card: its kind, ATR, files (Vitale) or serial (CPE), and faults."""

    name: str
    kind: str
    atr: bytes
    description: str
    serial: str = ""
    files: Mapping[int, bytes] = field(default_factory=dict)
    """Vitale files of the VITALE application by file id (EF 2001 included)."""
    select_sw: Mapping[int, bytes] = field(default_factory=dict)
    read_sw: Mapping[int, bytes] = field(default_factory=dict)
    silent_after: int | None = None
    """Answer this many APDUs, then never again (the card hangs)."""


def card_names() -> list[str]:
    """Names of every fixture card."""
    return sorted(p.stem for p in CARDS_DIR.glob("*.toml"))


@cache
def load_card(name: str) -> CardSpec:
    """Load ``kiosk/sim/data/cards/<name>.toml``."""
    path = CARDS_DIR / f"{name}.toml"
    if not path.is_file():
        raise NotFound(
            msg("sim.cards.virtual.load_card", name=name, join=", ".join(card_names())),
        )
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    kind = str(data["kind"])
    atr = bytes.fromhex(str(data["atr"]))
    faults: dict[str, Any] = data.get("faults", {})
    serial = str(data.get("serial", ""))
    files: dict[int, bytes] = {}
    if kind == "vitale":
        files = _vitale_files(data, serial, faults)
    elif kind == "cpe":
        from kiosk.sim.pki import professional  # the other fixture owns card serials

        serial = professional(str(data["professional"])).card_serial
    return CardSpec(
        name=name,
        kind=kind,
        atr=atr,
        description=str(data.get("description", "")),
        serial=serial,
        files=files,
        select_sw={int(k, 16): bytes.fromhex(v) for k, v in faults.get("select", {}).items()},
        read_sw={int(k, 16): bytes.fromhex(v) for k, v in faults.get("read", {}).items()},
        silent_after=faults.get("silent_after"),
    )


def _vitale_files(data: dict[str, Any], serial: str, faults: dict[str, Any]) -> dict[int, bytes]:
    refs = [FileRef("CARTE", 1, 0x2002)]
    files: dict[int, bytes] = {
        0x2002: build_card_description(
            CardDescription(str(data.get("validity_start", "20240101")), serial or None)
        )
    }
    for entry in data.get("file", []):
        fid = int(str(entry["fid"]), 16)
        refs.append(FileRef(str(entry["name"]), 1, fid))
        files[fid] = b"".join(
            build_beneficiary(
                Beneficiary(
                    family_name=str(p["family_name"]),
                    given_name=str(p["given_name"]),
                    birth_date=str(p["birth_date"]),
                    insured_nir=Nir.parse(str(p["insured_nir"])).value,
                    birth_rank=p.get("birth_rank"),
                    quality=p.get("quality"),
                    nationality=p.get("nationality"),
                )
            )
            for p in entry.get("beneficiary", [])
        )
    files[MAP_FID] = build_map(VitaleMap({1: VITALE_AID, 2: MF_VITALE_AID}, tuple(refs)))
    for fid_text, size in faults.get("truncate", {}).items():
        fid = int(fid_text, 16)
        files[fid] = files[fid][: int(size)]
    for fid_text in faults.get("overlength", []):
        fid = int(fid_text, 16)
        raw = bytearray(files[fid])
        at = 2 if raw[1] == 0x81 else 1  # the first object claims 40 bytes the file lacks
        raw[at] = min(0xFF if at == 2 else 0x7F, raw[at] + 40)
        files[fid] = bytes(raw)
    return files


class CardLogic:
    """What a card answers; one instance per insertion, reset on power-on."""

    def reset(self) -> None:
        """Forget the selection, as a cold or warm reset does."""

    def respond(self, apdu: bytes) -> bytes:
        """The response APDU (data + SW1 SW2)."""
        return b"\x6d\x00"


class VitaleLogic(CardLogic):
    """The open Vitale layout of DOMAIN.md §5: two AIDs, EF 2001 and the files it lists."""

    def __init__(self, spec: CardSpec) -> None:
        self.spec = spec
        self.app: bytes | None = None
        self.fid: int | None = None

    def reset(self) -> None:
        self.app = None
        self.fid = None

    def respond(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        if ins == 0xA4 and p1 == 0x04:
            aid = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
            if aid in (VITALE_AID, MF_VITALE_AID):
                self.app, self.fid = aid, None
                return _OK
            return b"\x6a\x82"
        if ins == 0xA4 and p1 in (0x00, 0x02) and p2 in (0x00, 0x04, 0x0C) and len(apdu) >= 7:
            fid = int.from_bytes(apdu[5:7], "big")
            if fid in self.spec.select_sw:
                return self.spec.select_sw[fid]
            if self.app == VITALE_AID and fid in self.spec.files:
                self.fid = fid
                return _OK
            return b"\x6a\x82"
        if ins == 0xB0:
            if self.fid is None:
                return b"\x69\x86"
            if self.fid in self.spec.read_sw:
                return self.spec.read_sw[self.fid]
            content = self.spec.files[self.fid]
            offset = (p1 << 8) | p2
            wanted = (apdu[4] or 256) if len(apdu) >= 5 else 256
            if offset >= len(content):
                return b"\x6b\x00"
            chunk = content[offset : offset + wanted]
            return chunk + (b"\x62\x82" if len(chunk) < wanted else _OK)
        return b"\x6d\x00"


class CpeLogic(CardLogic):
    """Just enough of a CPE to be recognised: MF selection and its serial by GET DATA."""

    def __init__(self, spec: CardSpec) -> None:
        self.spec = spec

    def respond(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        if apdu[1] == 0xA4 and apdu[5:7] == b"\x3f\x00":
            return _OK
        if apdu[1] == 0xA4:
            return b"\x6a\x82"
        if apdu[1:4] == b"\xca\x00\x5a":
            return self.spec.serial.encode("ascii") + _OK
        return b"\x6d\x00"


def _logic(spec: CardSpec) -> CardLogic:
    if spec.kind == "vitale":
        return VitaleLogic(spec)
    if spec.kind == "cpe":
        return CpeLogic(spec)
    return CardLogic()


class VirtualCard:
    """One card in one vpcd slot; a daemon thread serves the socket until :meth:`pull`."""

    def __init__(self, spec: CardSpec, port: int, *, host: str = "127.0.0.1") -> None:
        self.spec = spec
        self.port = port
        self.host = host
        self.transcript: list[tuple[bytes, bytes]] = []
        """Every APDU and its answer, in order (control messages excluded)."""
        self.pull_at: int | None = None
        """Pull the card when the APDU with this 0-based index arrives, without answering it."""
        self._logic = _logic(spec)
        self._apdus = 0
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"vicc-{spec.name}-{port}", daemon=True
        )

    def insert(self) -> VirtualCard:
        """Connect to the slot; keep reconnecting while inserted (e.g. across a pcscd restart)."""
        self._thread.start()
        return self

    @property
    def inserted(self) -> bool:
        """True until pulled."""
        return not self._stop.is_set()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Block until the slot accepted the connection."""
        return self._connected.wait(timeout)

    def pull(self) -> None:
        """Take the card out: close the socket; vpcd reports the card absent."""
        self._stop.set()
        self._close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=0.5)
            except OSError:
                self._stop.wait(0.05)  # pcscd not (yet or again) listening
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stop.is_set():
                    sock.close()
                    return
                self._sock = sock
            self._connected.set()
            with contextlib.suppress(OSError):
                self._serve(sock)
            self._close()
            self._logic.reset()

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            # FIELD-NOTES.md: re-arm after every recv, or each exchange stalls ~44 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            if not chunk:
                return None
            buf += chunk
        return buf

    def _serve(self, sock: socket.socket) -> None:
        while True:
            head = self._recv_exact(sock, 2)
            if head is None:
                return
            payload = self._recv_exact(sock, int.from_bytes(head, "big"))
            if payload is None:
                return
            if len(payload) == 1:
                if payload[0] == 0x04:
                    sock.sendall(len(self.spec.atr).to_bytes(2, "big") + self.spec.atr)
                elif payload[0] in (0x00, 0x01, 0x02):
                    self._logic.reset()
                continue
            index = self._apdus
            self._apdus += 1
            if self.pull_at is not None and index >= self.pull_at:
                self._stop.set()
                return
            if self.spec.silent_after is not None and index >= self.spec.silent_after:
                continue  # a hung card: the APDU is swallowed
            answer = self._logic.respond(payload)
            self.transcript.append((payload, answer))
            sock.sendall(len(answer).to_bytes(2, "big") + answer)
