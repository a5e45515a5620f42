"""The simulated INSi in-process and clients on it, for tests that bind these fixtures.

``tests/insi/conftest.py`` binds them for the INSi tests; the identity-flow tests bind
them by name (``from tests.insi_sim import insi``), with ``pki`` from ``tests/pki.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.insi.client import InsiClient
from kiosk.insi.messages import LpsIdentity
from kiosk.signing import Signer
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy

__all__ = ["LPS", "clock", "http", "insi", "make_client", "sim"]

LPS = LpsIdentity("TEST-CNDA-0000", "kiosk", "0.1.0", "KIOSK-TEST-0001")


def make_client(
    http: httpx.AsyncClient, signer: Signer, clock: FrozenClock, url: str = "http://sim/"
) -> InsiClient:
    """An INSi client of the demo establishment over ``http``, timing out after one second."""
    soap = SoapClient(http, url, "INSi", timeout_s=1.0)
    return InsiClient(soap, signer, LPS, structure_id="3750100000", clock=clock)


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock the simulator and the client share."""
    return FrozenClock()


@pytest.fixture
def sim(pki: TestPki, clock: FrozenClock) -> InsiSimulator:
    """The INSi simulator trusting the test CA."""
    return InsiSimulator(IssuedBy((pki.ca_certificate,), clock.now), clock=clock, delay_s=5.0)


@pytest.fixture
async def http(sim: InsiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the simulator through ASGI: the real XML code, no socket."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as client:
        yield client


@pytest.fixture
def insi(http: httpx.AsyncClient, pki: TestPki, clock: FrozenClock) -> InsiClient:
    """The client the desk uses: signed with the admission agent's key."""
    return make_client(http, pki.signer_for("agent"), clock)
