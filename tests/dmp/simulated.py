"""The simulated DMP in-process and a client factory on it, for tests that bind these fixtures.

``tests/dmp/conftest.py`` binds them for the DMP tests; a module elsewhere binds them
by name (``from tests.dmp.simulated import sim``), as with ``tests/softhsm.py``, whose
``test_pki`` they need.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.client import DmpClient, DmpSettings
from kiosk.dmp.vihf import Actor
from kiosk.signing import Signer
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.wssec import IssuedBy

from .samples import AGENT, SENDER_OID, SOFTWARE, T0

__all__ = ["ClientFactory", "clock", "dmp_client", "http", "make_client", "sim"]

ClientFactory = Callable[..., DmpClient]


def dmp_client(
    http: httpx.AsyncClient,
    signer: Signer,
    clock: FrozenClock,
    *,
    actor: Actor = AGENT,
    endpoint: str = "http://dmp.test/",
    **settings: object,
) -> DmpClient:
    """A client of the demo installation over ``http``; ``settings`` override DmpSettings."""
    return DmpClient(
        http,
        signer,
        actor=actor,
        software=SOFTWARE,
        clock=clock,
        settings=dataclasses.replace(
            DmpSettings(endpoint, SENDER_OID),
            **settings,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def clock() -> FrozenClock:
    """Frozen at ``T0``, the date of every sample message."""
    return FrozenClock(T0)


@pytest.fixture
def sim(test_pki: TestPki, tmp_path: Path, clock: FrozenClock) -> Iterator[DmpSimulator]:
    """The DMP simulator trusting the test CA, its database in this test's directory."""
    simulator = DmpSimulator(
        IssuedBy((test_pki.ca_certificate,), clock.now), tmp_path / "dmp.sqlite3", clock=clock
    )
    yield simulator
    simulator.close()


@pytest.fixture
async def http(sim: DmpSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the simulator through ASGI: the real XML code, no socket."""
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as client:
        yield client


@pytest.fixture
def make_client(http: httpx.AsyncClient, test_pki: TestPki, clock: FrozenClock) -> ClientFactory:
    """A client in indirect mode (establishment ORG_SIGN) unless told otherwise."""

    def make(
        signer: Signer | None = None,
        actor: Actor = AGENT,
        *,
        transport: httpx.AsyncClient | None = None,
        **settings: object,
    ) -> DmpClient:
        signer = signer or test_pki.signer_for("establishment")
        return dmp_client(transport or http, signer, clock, actor=actor, **settings)

    return make
