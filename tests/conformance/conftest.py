"""Fixtures of the conformance tests: the published schemas beside the checkout, simulators.

The schemas are never copied into the project: they are found at
``<checkout>/../shared/schemas`` as CI lays them out, and a missing folder *fails*
every test here (a conformance suite that skips proves nothing). Compiled schemas are
kept for the whole process by :mod:`kiosk.sim.schemas`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.client import DmpClient
from kiosk.insi.client import InsiClient
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import TestPki
from kiosk.sim.schemas import SchemaChecker
from kiosk.soap.wssec import IssuedBy
from tests.dmp.samples import T0
from tests.dmp.simulated import dmp_client
from tests.insi_sim import make_client as insi_client
from tests.softhsm import test_pki

from .traffic import Recorder

__all__ = [
    "checker",
    "dmp",
    "dmp_clock",
    "dmp_traffic",
    "insi",
    "insi_clock",
    "insi_traffic",
    "schemas_dir",
    "test_pki",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = REPO_ROOT.parent / "shared" / "schemas"


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    """``../shared/schemas`` beside the checkout; the test fails when it is missing."""
    if not (SCHEMAS / "w3c-soap12" / "soap-envelope.xsd").is_file():
        pytest.fail(f"published schemas missing: expected them in {SCHEMAS}", pytrace=False)
    return SCHEMAS


@pytest.fixture(scope="session")
def checker(schemas_dir: Path) -> SchemaChecker:
    """Validation against the published schemas (compiled once per process)."""
    return SchemaChecker(schemas_dir)


@pytest.fixture
def dmp_clock() -> FrozenClock:
    """The DMP simulator's and client's clock, at the samples' date."""
    return FrozenClock(T0)


@pytest.fixture
def insi_clock() -> FrozenClock:
    """The INSi simulator's and client's clock."""
    return FrozenClock()


@pytest.fixture
def dmp_traffic(
    test_pki: TestPki, tmp_path: Path, checker: SchemaChecker, dmp_clock: FrozenClock
) -> Iterator[Recorder]:
    """The simulated DMP, validating what it receives, behind a recorder."""
    clock = dmp_clock
    sim = DmpSimulator(
        IssuedBy((test_pki.ca_certificate,), clock.now),
        tmp_path / "dmp.sqlite3",
        clock=clock,
        schemas=checker.root,
    )
    yield Recorder(sim.app)
    sim.close()


@pytest.fixture
async def dmp(
    dmp_traffic: Recorder, test_pki: TestPki, dmp_clock: FrozenClock
) -> AsyncIterator[DmpClient]:
    """The kiosk's DMP client on the recorded simulator."""
    transport = httpx.ASGITransport(app=dmp_traffic)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
        yield dmp_client(http, test_pki.signer_for("establishment"), dmp_clock)


@pytest.fixture
def insi_traffic(test_pki: TestPki, checker: SchemaChecker, insi_clock: FrozenClock) -> Recorder:
    """The simulated INSi, validating what it receives, behind a recorder."""
    clock = insi_clock
    sim = InsiSimulator(IssuedBy((test_pki.ca_certificate,), clock.now), clock=clock)
    return Recorder(sim.app)


@pytest.fixture
async def insi(
    insi_traffic: Recorder, test_pki: TestPki, insi_clock: FrozenClock
) -> AsyncIterator[InsiClient]:
    """The kiosk's INSi client on the recorded simulator."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=insi_traffic)) as http:
        yield insi_client(http, test_pki.signer_for("agent"), insi_clock)
