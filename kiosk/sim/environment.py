"""The simulated world: start, supervise and stop every simulator the demo and tests use.

Each area registers one :class:`SimComponent` in :func:`default_components` (virtual
readers and cards, SoftHSM2 tokens, INSi, DMP, printer). The world starts them in
order, records every process it spawns by PID, restarts nothing behind the user's
back (a process that dies is reported), and on exit stops each of them — its whole
process group, SIGTERM then SIGKILL — whatever happened before.

The running world writes ``<state_dir>/world.json`` (PIDs, ports, sockets) so that
other commands (``kiosk sim …``, ``kiosk cards …``) can find it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

__all__ = [
    "SimComponent",
    "SimWorld",
    "SpawnedProcess",
    "default_components",
    "load_world_state",
]

log = logging.getLogger(__name__)


class SimComponent(Protocol):
    """One simulator the world can start and stop."""

    name: str

    def start(self, world: SimWorld) -> None:
        """Start; may spawn processes (``world.spawn``) and publish facts (``world.facts``)."""
        ...

    def stop(self) -> None:
        """Stop what ``start`` started that the world does not track itself."""
        ...

    def describe(self) -> list[str]:
        """Lines telling what runs and how to drive it from the CLI."""
        ...


@dataclass
class SpawnedProcess:
    """A process started by the world, owned by a component."""

    component: str
    argv: Sequence[str]
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid


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
            list(argv),
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
            (self.state_dir / "world.json").unlink()

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
        path = self.state_dir / "world.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(path)


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)


def load_world_state(state_dir: Path) -> dict[str, object] | None:
    """The state a running world published, or None when no world runs there."""
    path = state_dir / "world.json"
    try:
        state: dict[str, object] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    pid = state.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return state


ComponentFactory = Callable[[], SimComponent]


def default_components() -> list[SimComponent]:
    """The simulators of the demo, in start order; each area adds its own here."""
    from kiosk.sim.card_desk import CardDeskComponent
    from kiosk.sim.feed_sink import FeedSinkComponent
    from kiosk.sim.hsm import TokensComponent
    from kiosk.sim.printer_world import PrinterComponent
    from kiosk.sim.server import ServicesComponent

    factories: list[ComponentFactory] = [
        CardDeskComponent,
        TokensComponent,
        ServicesComponent,
        PrinterComponent,
        FeedSinkComponent,
    ]
    return [factory() for factory in factories]
