"""The simulated printer inside the demo world: its own thread, and a control channel.

The world starts the printer in a thread with its own event loop and publishes
``facts["printer"]`` (host, ESC/POS port, control port, jobs directory), so other
processes print to it and drive it. Each job lands as ``job-NNNN.png`` and ``.bin``
in the jobs directory.

Control channel: one text line in, one JSON line out, on 127.0.0.1 only —
``status``, ``paper-out``, ``cover-open``, ``cover-close``, ``offline``, ``online``,
``run-out-after ROWS``, ``drop-after BYTES``, ``refill``. ``kiosk sim printer …`` uses it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.errors import InvalidInput, Unavailable
from kiosk.locale import msg
from kiosk.sim.printer.device import SimulatedPrinter

if TYPE_CHECKING:
    from kiosk.sim.component import WorldHost

__all__ = ["CONTROL_COMMANDS", "PrinterComponent", "control"]

CONTROL_COMMANDS = (
    "status",
    "paper-out",
    "cover-open",
    "cover-close",
    "offline",
    "online",
    "run-out-after",
    "drop-after",
    "refill",
)


def _apply(printer: SimulatedPrinter, line: str) -> dict[str, Any]:
    words = line.split()
    verb = words[0] if words else ""
    arg = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
    actions: dict[str, Callable[[], None]] = {
        "paper-out": printer.paper_out,
        "cover-open": lambda: printer.cover_open(True),
        "cover-close": lambda: printer.cover_open(False),
        "offline": lambda: printer.offline(True),
        "online": lambda: printer.offline(False),
        "refill": printer.refill,
        "status": lambda: None,
    }
    if verb == "run-out-after" and arg is not None:
        printer.run_out_after(arg)
    elif verb == "drop-after" and arg is not None:
        printer.drop_after(arg)
    elif verb in actions:
        actions[verb]()
    else:
        return {"ok": False, "error": f"unknown command {line!r}", "commands": CONTROL_COMMANDS}
    return {
        "ok": True,
        "status": {n: printer.status_byte(n) for n in (1, 2, 4)},
        "jobs": len(printer.jobs),
    }


async def _serve_control(printer: SimulatedPrinter) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode("ascii", errors="replace").strip()
        writer.write(json.dumps(_apply(printer, line)).encode() + b"\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def control(port: int, line: str, *, timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one control line to a world's simulated printer and return its answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(line.encode("ascii") + b"\n")
            answer = sock.makefile("rb").readline()
    except OSError as exc:
        raise Unavailable(
            msg("sim.printer.control.control_2"),
            detail=str(exc),
        ) from exc
    reply: dict[str, Any] = json.loads(answer or b"{}")
    if not reply.get("ok"):
        raise InvalidInput(
            msg("sim.printer.control.control", line=line),
        )
    return reply


class PrinterComponent:
    """The simulated printer as a part of the simulated world, served from its own thread."""

    name = "printer"

    def __init__(self, *, port: int = 0, width_dots: int = 576) -> None:
        self._port = port
        self._width = width_dots
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.printer: SimulatedPrinter | None = None
        self.control_port = 0
        self._jobs_dir: Path | None = None

    def start(self, world: WorldHost) -> None:
        """Start the thread and publish ``facts["printer"]``."""
        self._jobs_dir = world.state_dir / "printer"
        self._jobs_dir.mkdir(parents=True, exist_ok=True)
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        printer = SimulatedPrinter(width_dots=self._width, port=self._port, jobs_dir=self._jobs_dir)

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(printer.start())
            control_server = loop.run_until_complete(_serve_control(printer))
            self.control_port = control_server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            control_server.close()
            loop.run_until_complete(printer.stop())
            loop.close()

        self._loop, self.printer = loop, printer
        self._thread = threading.Thread(target=run, name="sim-printer", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("simulated printer did not start")
        world.facts["printer"] = {
            "host": printer.host,
            "port": printer.port,
            "control_port": self.control_port,
            "jobs_dir": str(self._jobs_dir),
        }

    def stop(self) -> None:
        """Stop the servers and the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    def describe(self) -> list[str]:
        """Where it listens, where the job images go, how to drive it."""
        if self.printer is None:
            return ["not running"]
        return [
            f"ESC/POS on tcp://{self.printer.host}:{self.printer.port}",
            f"job images in {self._jobs_dir}",
            "drive it: kiosk sim printer paper-out|cover-open|drop-after N|refill|status",
        ]
