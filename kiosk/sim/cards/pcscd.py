"""A private ``pcscd`` with vpcd virtual readers on ephemeral ports.

Each test worker and each demo gets its own daemon, its own ``reader.conf.d``
(``pcscd -c DIR``) and its own socket; the system's pcscd is never touched.

Why a mount namespace: pcsc-lite 1.9.9 (bookworm) hard-codes ``/run/pcscd`` in the
daemon — only the client library honours ``PCSCLITE_CSOCK_NAME`` (checked in a
subprocess: the daemon ignored the variable and created ``/run/pcscd/pcscd.comm``,
and a second daemon refuses to start beside it). So the daemon runs under
``unshare --mount`` with a private directory bound on ``/run/pcscd``; clients reach
it through ``PCSCLITE_CSOCK_NAME=<dir>/run/pcscd.comm``, which must be in the
environment before pyscard first establishes a context. Without root the same runs in
a user namespace (``unshare --user --map-root-user``), where the bind mount is allowed.

vpcd (``DEVICENAME /dev/null:PORT``) exposes two slots per configured reader,
``<name> 00 00`` on PORT and ``<name> 00 01`` on PORT+1 — a two-slot desk reader
(Vitale slot, CPS slot). The driver keeps its slots in globals and pcscd loads a
library path once, so two ``reader.conf`` entries on the same ``LIBPATH`` answered
only for the last one (checked: cards in the first were never seen). Each further
reader therefore gets its own copy of the driver file, hence its own globals.
Readers appear 0.2–0.5 s after start (FIELD-NOTES.md): we poll, we don't sleep.

By default each reader runs vpcd behind ``vpcd_events.c`` (``event_driver.py``),
which reports a card's insertion or removal within 20 ms as the appliance's CCID
reader does, instead of at pcscd's next 400 ms presence poll; ``card_events=False``
keeps the stock driver (the wipe benchmark measures both).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.errors import Unavailable
from kiosk.locale import msg
from kiosk.sim.cards import event_driver

__all__ = [
    "PCSCD",
    "VPCD_DRIVER",
    "PcscDaemon",
    "Spawner",
    "VirtualReader",
    "free_port_pair",
]

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
"""Debian's vpcd driver (``dpkg -L vsmartcard-vpcd``)."""
PCSCD = Path("/usr/sbin/pcscd")
"""Debian's daemon; by full path, since ``/usr/sbin`` is not on a user's ``PATH``."""

Spawner = Callable[[Sequence[str], Mapping[str, str]], "subprocess.Popen[bytes]"]
"""Starts a process (argv, extra environment); the simulated world passes its own."""


@dataclass(frozen=True)
class VirtualReader:
    """One configured vpcd reader: two slots, on ``port`` and ``port + 1``."""

    name: str
    port: int

    @property
    def slots(self) -> dict[str, int]:
        """PC/SC slot names and the TCP port a virtual card connects to."""
        return {f"{self.name} 00 00": self.port, f"{self.name} 00 01": self.port + 1}


def free_port_pair() -> int:
    """A port P such that P and P+1 were both free on 127.0.0.1 a moment ago."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("0.0.0.0", port))  # noqa: S104 - vpcd binds on all addresses
                b.bind(("0.0.0.0", port + 1))  # noqa: S104
        except OSError:
            continue
        return port
    raise Unavailable(
        msg("sim.cards.pcscd.free_port_pair"),
    )


def _listening_ports() -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                parts = line.split()
                if len(parts) > 3 and parts[3] == "0A":  # TCP_LISTEN
                    ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def _default_spawner(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
        start_new_session=True,
    )


@dataclass
class PcscDaemon:
    """A private pcscd serving two-slot vpcd readers; start, stop, restart by PID."""

    directory: Path
    reader_names: tuple[str, ...] = ("Kiosk Desk",)
    spawner: Spawner = _default_spawner
    readers: tuple[VirtualReader, ...] = ()
    user_namespace: bool = field(default_factory=lambda: os.geteuid() != 0)
    """Run without root: a user namespace maps this user to root inside, where the mount
    is allowed (unprivileged user namespaces are on in Debian's kernels)."""
    card_events: bool = True
    """vpcd behind the event-reporting wrapper (module docstring); False: stock vpcd."""
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket_path(self) -> Path:
        """The daemon's socket, for ``PCSCLITE_CSOCK_NAME``."""
        return self.directory / "run" / "pcscd.comm"

    @property
    def env(self) -> dict[str, str]:
        """What a client process needs in its environment to use this daemon."""
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    @property
    def pid(self) -> int | None:
        """PID of the running daemon."""
        return self._popen.pid if self._popen is not None else None

    @property
    def slots(self) -> dict[str, int]:
        """Every slot name and its vpcd port."""
        return {name: port for r in self.readers for name, port in r.slots.items()}

    def start(self, timeout: float = 15.0) -> None:
        """Start pcscd and return once every slot is listed by PC/SC."""
        if not self.readers:
            self.readers = tuple(VirtualReader(n, free_port_pair()) for n in self.reader_names)
        conf = self.directory / "reader.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "vpcd").write_text(
            "".join(
                f'FRIENDLYNAME "{r.name}"\nDEVICENAME /dev/null:{r.port}\n'
                f"LIBPATH {self._driver(i)}\nCHANNELID {r.port}\n\n"
                for i, r in enumerate(self.readers)
            )
        )
        run = self.directory / "run"
        run.mkdir(parents=True, exist_ok=True)
        for stale in ("pcscd.comm", "pcscd.pid"):
            with contextlib.suppress(FileNotFoundError):
                (run / stale).unlink()
        script = f'mount --bind "{run}" /run/pcscd && exec {PCSCD} -f -c "{conf}"'
        namespaces = ["--mount", "--propagation", "private"]
        if self.user_namespace:
            namespaces = ["--user", "--map-root-user", *namespaces]
            # /run/pcscd exists where the pcscd package's socket unit ran; elsewhere a
            # private tmpfs on /run (inside the namespace only) gives the mount a target.
            script = (
                "{ [ -d /run/pcscd ] || { mount -t tmpfs -o mode=755 tmpfs /run"
                " && mkdir /run/pcscd; }; } && " + script
            )
        else:
            Path("/run/pcscd").mkdir(parents=True, exist_ok=True)  # the bind-mount target
        argv = ["unshare", *namespaces, "sh", "-c", script]
        self._popen = self.spawner(argv, self.env)
        self._wait_ports(timeout)

    def _driver(self, index: int) -> Path:
        if self.card_events:
            wrapped = event_driver.install(self.directory, index, VPCD_DRIVER)
            if wrapped is not None:
                return wrapped
        if index == 0:
            return VPCD_DRIVER
        copy = self.directory / f"libifdvpcd-{index}.so"
        if not copy.exists():
            shutil.copyfile(VPCD_DRIVER.resolve(), copy)
        return copy

    def _wait_ports(self, timeout: float) -> None:
        # Ready once each vpcd slot listens. Read /proc rather than connect: vpcd would
        # take a probing connection for a card.
        deadline = time.monotonic() + timeout
        pending = set(self.slots.values())
        while pending:
            if self._popen is not None and self._popen.poll() is not None:
                raise Unavailable(
                    msg("sim.cards.pcscd.pcsc_daemon_wait_ports"),
                    detail=f"rc={self._popen.returncode}",
                )
            pending -= _listening_ports()
            if pending and time.monotonic() > deadline:
                raise Unavailable(
                    msg("sim.cards.pcscd.pcsc_daemon_wait_ports_2"),
                    detail=f"ports={sorted(pending)}",
                )
            if pending:
                time.sleep(0.02)
        while not self.socket_path.exists():
            if time.monotonic() > deadline:
                raise Unavailable(
                    msg("sim.cards.pcscd.pcsc_daemon_wait_ports_3"),
                )
            time.sleep(0.02)

    def stop(self, grace_s: float = 3.0) -> None:
        """Stop the daemon by its PID (SIGTERM, then SIGKILL)."""
        popen, self._popen = self._popen, None
        if popen is None or popen.poll() is not None:
            return
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()

    def restart(self, timeout: float = 15.0) -> None:
        """Stop and start again on the same ports (cards reconnect by themselves)."""
        self.stop()
        self.start(timeout)
