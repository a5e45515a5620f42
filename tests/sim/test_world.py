"""The simulated world stops every process it started, by PID, whatever happens."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from kiosk.sim.state import load_world_state
from kiosk.sim.world import SimWorld


class Sleeper:
    """A component that spawns a long-running child (and a grandchild in its group)."""

    name = "sleeper"

    def start(self, world: SimWorld) -> None:
        code = (
            "import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
            "time.sleep(600)"
        )
        world.spawn(self.name, [sys.executable, "-c", code])
        world.facts["sleeper"] = "up"

    def stop(self) -> None:
        pass

    def describe(self) -> list[str]:
        return ["sleeps"]


class Broken:
    name = "broken"

    def start(self, world: SimWorld) -> None:
        raise RuntimeError("cannot start")

    def stop(self) -> None:
        pass

    def describe(self) -> list[str]:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie not yet reaped still answers kill(0); check its state.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_world_publishes_state_and_stops_its_processes(tmp_path: Path) -> None:
    world = SimWorld(state_dir=tmp_path, components=[Sleeper()])
    with world.running():
        (proc,) = world.processes
        state = load_world_state(tmp_path)
        assert state is not None
        assert state["facts"] == {"sleeper": "up"}
        assert any("sleeper" in line for line in world.describe())
        pid = proc.pid
        assert _alive(pid)
    assert not _alive(pid)
    assert load_world_state(tmp_path) is None


def test_a_failing_component_stops_what_was_started(tmp_path: Path) -> None:
    world = SimWorld(state_dir=tmp_path, components=[Sleeper(), Broken()])
    with pytest.raises(RuntimeError, match="cannot start"):
        world.start()
    assert world.processes == []


_DIES_WITHOUT_STOPPING = """
import os, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from kiosk.sim.world import SimWorld
from tests.sim.test_world import Sleeper
world = SimWorld(state_dir=Path({state!r}), components=[Sleeper()])
world.start()
print(world.processes[0].pid, flush=True)
time.sleep(0.5)
os._exit(9)  # killed, or stuck and made to leave: the world never stops its processes
"""


def test_a_world_that_dies_without_stopping_leaves_no_simulator_behind(tmp_path: Path) -> None:
    import subprocess
    import time

    code = _DIES_WITHOUT_STOPPING.format(root=str(Path(__file__).parents[2]), state=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not _alive(pid)  # the kernel stopped it with its parent (setpriv --pdeathsig)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # the sleeper's own child, which is its to stop
