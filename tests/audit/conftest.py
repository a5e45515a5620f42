"""Fixtures of the audit tests: two agents' keys, made once per session."""

from __future__ import annotations

import pytest

from kiosk.signing import KeySigner
from tests.audit.day import make_signer


@pytest.fixture(scope="session")
def agent_a() -> KeySigner:
    return make_signer("3750100000/ACCUEIL01")


@pytest.fixture(scope="session")
def agent_b() -> KeySigner:
    return make_signer("3750100000/ACCUEIL02")
