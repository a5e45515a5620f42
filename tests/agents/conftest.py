"""Fixtures of the agent directory tests: a real slapd for the module, a site file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.agents.sitefile import SiteAgentFile, fast_hasher
from tests.slapd import Slapd, running_slapd


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One slapd per test worker, stopped (terminated, then killed) after the tests."""
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


@pytest.fixture
def site_file(tmp_path: Path) -> SiteAgentFile:
    """An empty site file with cheap argon2id parameters."""
    return SiteAgentFile(tmp_path / "agents.toml", fast_hasher())
