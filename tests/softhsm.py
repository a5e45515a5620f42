"""Fixtures for tests that need the test PKI and real SoftHSM2 tokens.

Test modules bind them by name (``softhsm = tokens.softhsm``) so that each area
chooses what it uses without a shared conftest; a folder whose modules all use them
binds them once in its own conftest (``tests/dmp/conftest.py``).

SoftHSM2 reads ``SOFTHSM2_CONF`` once, when the module is initialised in a
process, and sees only the tokens that exist then: the session fixture provisions
every token of the fixture file first, then exports the variable. Each xdist
worker has its own PKI and token directory. The simulated PIN lock keeps its
counters per test, so a test that locks a card leaves the others unaffected.

Each test module or conftest that binds a session fixture gets its own instance, so the
directories have fixed names under the worker's base temporary directory: the
second instance finds the stamps of the first and reuses its files (and the one
token directory the process's PKCS#11 module was initialised with).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kiosk.cards.pinlock import SimulatedPinLock
from kiosk.cards.pkcs11 import CpsModule
from kiosk.sim.hsm import SoftHsm, provision_tokens
from kiosk.sim.pki import TestPki, ensure_test_pki

__all__ = ["cps_module", "pin_lock", "softhsm", "test_pki"]


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The worker's test PKI (RSA generation once per worker)."""
    return ensure_test_pki(tmp_path_factory.getbasetemp() / "worker-pki")


@pytest.fixture(scope="session")
def softhsm(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """The worker's SoftHSM2 tokens, exported through ``SOFTHSM2_CONF`` for this process."""
    hsm = provision_tokens(tmp_path_factory.getbasetemp() / "worker-softhsm", test_pki)
    os.environ.update(hsm.env)
    return hsm


@pytest.fixture
def pin_lock(tmp_path: Path) -> SimulatedPinLock:
    """A fresh simulated 3-try lock for this test."""
    return SimulatedPinLock(tmp_path / "pin-tries")


@pytest.fixture
async def cps_module(softhsm: SoftHsm, pin_lock: SimulatedPinLock) -> AsyncIterator[CpsModule]:
    """The PKCS#11 adapter over the worker's SoftHSM2, every session logged out afterwards."""
    module = CpsModule(softhsm.module, pin_lock=pin_lock)
    yield module
    await module.close_all()
