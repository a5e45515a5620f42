"""The footer's ``world`` light goes down, naming it, when a simulator the demo started dies."""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.sim.component import WorldHost
from kiosk.sim.world import SimWorld
from kiosk.wiring.probes import ProbeResult, world_probe


class _Sleeper:
    name = "sleeper"

    def start(self, world: WorldHost) -> None:
        world.spawn(self.name, [sys.executable, "-c", "import time; time.sleep(600)"])

    def stop(self) -> None:
        pass

    def describe(self) -> list[str]:
        return []


async def test_the_world_light_names_the_simulator_that_died(tmp_path: Path) -> None:
    world = SimWorld(state_dir=tmp_path, components=[_Sleeper()])
    probe = world_probe(lambda: [p.component for p in world.dead_processes()])
    assert probe.name == "world"
    with world.running():
        assert await probe.check() == ProbeResult(True, "")
        (sleeper,) = world.processes
        sleeper.popen.kill()
        sleeper.popen.wait(timeout=10)
        assert await probe.check() == ProbeResult(False, "sleeper")
