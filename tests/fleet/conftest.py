"""The DDI client and agent against the simulated hawkBit server, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.fleet.agent import FleetAgent
from kiosk.fleet.client import DdiClient
from kiosk.fleet.endpoint import DdiEndpoint
from kiosk.fleet.simulated import SimulatedUpdater, bundle_bytes
from kiosk.sim.fleet.service import DdiSimulator
from kiosk.sim.fleet.state import DistributionSet

SERVER = "http://hawkbit.test"
CONTROLLER = "3750100000-KIOSK-0001"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def sim(clock: FrozenClock) -> DdiSimulator:
    simulator = DdiSimulator(clock=clock)
    simulator.state.add_target(CONTROLLER, token="target-secret")
    return simulator


@pytest.fixture
def release(sim: DdiSimulator) -> DistributionSet:
    return sim.state.add_distribution_set("kiosk-os", "1.1.0", bundle_bytes("1.1.0", 200_000))


@pytest.fixture
async def http(sim: DdiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as client:
        yield client


def endpoint(controller: str = CONTROLLER, token: str = "target-secret") -> DdiEndpoint:
    return DdiEndpoint(SERVER, "DEFAULT", controller, token)


@pytest.fixture
def client(http: httpx.AsyncClient) -> DdiClient:
    return DdiClient(http, endpoint(), timeout_s=2.0)


AgentFactory = Callable[..., FleetAgent]


@pytest.fixture
def make_agent(client: DdiClient, clock: FrozenClock, tmp_path: Path) -> Callable[..., FleetAgent]:
    def make(updater: SimulatedUpdater, **options: object) -> FleetAgent:
        return FleetAgent(client, updater, clock=clock, data_dir=tmp_path / "fleet", **options)  # type: ignore[arg-type]

    return make
