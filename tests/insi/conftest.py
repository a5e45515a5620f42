"""Fixtures of the INSi tests: test PKI, the simulator in-process, and a client on it."""

from __future__ import annotations

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.insi.client import InsiClient
from kiosk.sim.pki import TestPki
from tests.insi_sim import clock, http, make_client, sim
from tests.pki import pki, rogue_signer

__all__ = ["clock", "http", "pki", "rogue_signer", "sim"]


@pytest.fixture
def client(http: httpx.AsyncClient, pki: TestPki, clock: FrozenClock) -> InsiClient:
    """A client signing with the establishment's key."""
    return make_client(http, pki.signer_for("establishment"), clock)
