"""What the TUI benches share: a simulated world, its site file, and the app's frames.

The world is the one ``tests.desk.sim_world`` starts (readers and cards, tokens,
INSi/DMP, printer), in a temporary home, with a site file (``kiosk.toml``) that
``kiosk run --config`` reads as the tests' ``sim_settings`` build it. Starting it
(test PKI, tokens, pcscd) takes seconds and is never inside a timed figure.

A frame is what the app hands its driver: :func:`on_frames` wraps ``App._display``
of one app so a bench learns when a text has really been drawn (headless, the
driver writes nothing, but the compositor's update is the same bytes a terminal
would get), not only when a widget holds it.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Screen",
    "World",
    "bench_world",
    "card_desk",
    "figures",
    "frame_text",
    "on_frames",
    "peak_rss_mib",
    "percentile",
    "strip_escapes",
    "world_in",
]

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(frozen=True)
class World:
    """A running simulated world and the site file that points the kiosk at it."""

    home: Path
    config: Path
    state_dir: Path
    env: dict[str, str]


def _site_file(home: Path) -> Path:
    """The tests' ``sim_settings`` as a TOML file (``kiosk run --config`` reads it)."""
    values = {
        "paths": {"data_dir": str(home), "log_dir": str(home / "log")},
        "outbox": {
            "database": str(home / "outbox.sqlite3"),
            "device_key": str(home / "device.key"),
        },
    }
    lines = []
    for table, pairs in values.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in pairs.items())
        lines.append("")
    path = home / "kiosk.toml"
    path.write_text("\n".join(lines))
    return path


@contextlib.contextmanager
def world_in(home: Path, card_events: bool = True) -> Iterator[World]:
    """Start the desk's simulated world in ``home``; stop it, by PID, afterwards.

    ``card_events=False`` runs the stock vpcd driver (``kiosk.sim.cards.event_driver``).

    What a world before it left in ``home`` goes first, but its tokens and PKI
    (``tests.desk``'s rule: SoftHSM2 keeps the tokens it loaded for the process).
    """
    from kiosk.sim.cards.desk import CardDeskComponent
    from kiosk.sim.component import SimComponent
    from kiosk.sim.hsm import TokensComponent
    from kiosk.sim.printer.control import PrinterComponent
    from kiosk.sim.world import ServicesComponent, SimWorld
    from tests.desk import _empty

    _empty(home)
    config = _site_file(home)
    components: list[SimComponent] = [
        CardDeskComponent(card_events),
        TokensComponent(),
        ServicesComponent(port=0),
        PrinterComponent(),
    ]
    world = SimWorld(state_dir=home / "sim", components=components)
    with world.running():
        yield World(home, config, world.state_dir, dict(world.env))


def card_desk(world: World) -> Callable[[str, str], object]:
    """``card(op, name)``: insert or pull a fixture card through the world's card desk."""
    from kiosk.config import load_settings
    from kiosk.sim.cards.desk import control_request
    from kiosk.wiring.world import world_facts

    control = Path(str(world_facts(load_settings(world.config))["cards_control"]))

    def card(op: str, name: str) -> object:
        reply = control_request(control, {"op": op, "card": name})
        if not reply.get("ok"):
            raise RuntimeError(f"card desk: {op} {name}: {reply}")
        return reply

    return card


@contextlib.contextmanager
def bench_world(prefix: str) -> Iterator[World]:
    """One world in a temporary home, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch, world_in(Path(scratch)) as world:
        yield world


def strip_escapes(data: str) -> str:
    """``data`` without its terminal control sequences (CSI, OSC, two-byte escapes)."""
    return _ESCAPES.sub("", data)


def frame_text(app: Any, renderable: object) -> str:
    """The text of one frame the app hands its driver (escape sequences removed)."""
    render = getattr(renderable, "render_segments", None)
    if render is None:
        return ""
    return strip_escapes(str(render(app.console)))


def on_frames(app: Any, watch: Callable[[Any, object], None]) -> None:
    """Call ``watch(screen, update)`` after each frame ``app`` draws (``App._display``)."""
    display = app._display

    def spy(screen: Any, renderable: object) -> None:
        display(screen, renderable)
        if renderable is not None:
            watch(screen, renderable)

    app._display = spy


class Screen:
    """A terminal's screen as the bytes a program wrote to it leave it (enough for Textual).

    Cursor moves (CUP, CUU/CUD/CUF/CUB, CHA, CR, LF) and printable text; colours and
    modes are ignored. A text drawn in pieces, or over several frames, is found in
    the rows as a terminal would show it.
    """

    _CSI = re.compile(r"\x1b\[([0-?]*)[ -/]*([@-~])")
    _OTHER = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

    def __init__(self, columns: int, lines: int) -> None:
        self.columns, self.lines = columns, lines
        self.rows = [[" "] * columns for _ in range(lines)]
        self.x = self.y = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        """Apply the bytes the program wrote."""
        chunk = self._pending + self._decoder.decode(data)
        last = chunk.rfind("\x1b")
        # an escape sequence cut between two reads waits for its end
        if last != -1 and not self._complete(chunk[last:]):
            chunk, self._pending = chunk[:last], chunk[last:]
        else:
            self._pending = ""
        at = 0
        while at < len(chunk):
            if chunk[at] == "\x1b":
                csi = self._CSI.match(chunk, at)
                if csi:
                    self._control(csi.group(1), csi.group(2))
                    at = csi.end()
                    continue
                other = self._OTHER.match(chunk, at)
                at = other.end() if other else at + 1
                continue
            self._char(chunk[at])
            at += 1

    def _complete(self, tail: str) -> bool:
        return bool(self._CSI.match(tail) or self._OTHER.match(tail))

    def _control(self, params: str, final: str) -> None:
        numbers = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")]
        first = numbers[0] or 1
        if final in "Hf":
            row = numbers[0] or 1
            column = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self.y, self.x = min(row, self.lines) - 1, min(column, self.columns) - 1
        elif final == "A":
            self.y = max(0, self.y - first)
        elif final == "B":
            self.y = min(self.lines - 1, self.y + first)
        elif final == "C":
            self.x = min(self.columns - 1, self.x + first)
        elif final == "D":
            self.x = max(0, self.x - first)
        elif final == "G":
            self.x = min(self.columns, first) - 1
        elif final == "J" and numbers[0] == 2:
            self.rows = [[" "] * self.columns for _ in range(self.lines)]

    def _char(self, char: str) -> None:
        if char == "\r":
            self.x = 0
        elif char == "\n":
            self.y = min(self.lines - 1, self.y + 1)
        elif char >= " ":
            if self.x < self.columns:
                self.rows[self.y][self.x] = char
            self.x += 1

    def shows(self, wanted: str) -> bool:
        """Whether ``wanted`` is on one of the screen's rows."""
        return any(wanted in "".join(row) for row in self.rows)


def peak_rss_mib(pid: int | str = "self") -> float:
    """The process's peak resident set (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank, as bench_cards reports p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def figures(name: str, values: list[float], digits: int = 1) -> dict[str, float]:
    """``name``'s median, p95 and max (and min) over the rounds, rounded."""
    return {
        f"{name}_min": round(min(values), digits),
        f"{name}_median": round(statistics.median(values), digits),
        f"{name}_p95": round(percentile(values, 0.95), digits),
        f"{name}_max": round(max(values), digits),
    }


@contextlib.contextmanager
def full_collections() -> Iterator[list[float]]:
    """The pauses (ms) of Python's full (generation 2) collections while the block runs."""
    import gc

    pauses: list[float] = []
    started: list[float] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(note)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(note)
