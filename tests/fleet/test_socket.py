"""Once over a real socket: uvicorn on an ephemeral port, the transfer cut mid-body and resumed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from kiosk.clock import FrozenClock
from kiosk.fleet.agent import FleetAgent
from kiosk.fleet.client import DdiClient
from kiosk.fleet.endpoint import DdiEndpoint
from kiosk.fleet.simulated import SimulatedUpdater
from kiosk.sim.fleet.service import DdiSimulator
from kiosk.sim.fleet.state import ActionStatus, DistributionSet
from kiosk.sim.world import bind

from .conftest import CONTROLLER


@pytest.fixture
async def served(sim: DdiSimulator) -> AsyncIterator[str]:
    sock = bind(port=0)
    server = uvicorn.Server(
        uvicorn.Config(sim.app, log_level="critical", access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_an_update_over_a_socket_survives_a_dropped_connection(
    served: str, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock, tmp_path: Path
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    sim.faults.cut_after = 50_000  # the body stops short of its Content-Length
    updater = SimulatedUpdater(clock)
    async with httpx.AsyncClient() as http:
        client = DdiClient(http, DdiEndpoint(served, "DEFAULT", CONTROLLER, "target-secret"))
        agent = FleetAgent(client, updater, clock=clock, data_dir=tmp_path)
        assert (await agent.step()).step == "rebooting"
        updater.start_up()
        assert (await FleetAgent(client, updater, clock=clock, data_dir=tmp_path).step()).step == (
            "closed"
        )
    assert action.status is ActionStatus.FINISHED
    downloads = [s for _, p, s in sim.requests if "/artifacts/" in p]
    assert downloads == [200, 206]
