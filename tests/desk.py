"""The desk's services as ``kiosk run`` opens them, on a simulated world: one builder for tests.

Tests that need the whole desk (readers, tokens, INSi/DMP, printer) take the
``desk_services`` fixture instead of assembling sessions, flows and stores by hand;
tests of one service in isolation keep their in-memory ports and in-process
simulators (virtual time, injected faults), which a world of processes cannot give.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kiosk.config import Settings, parse_settings
from kiosk.sim.component import SimComponent
from kiosk.sim.pki import TestPki
from kiosk.sim.world import SimWorld
from kiosk.wiring import Services, open_services

__all__ = ["desk_services", "sim_settings", "sim_world"]


@pytest.fixture
def sim_world(tmp_path: Path, test_pki: TestPki, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A demo world (readers, tokens, INSi/DMP, printer) under ``tmp_path/sim``."""
    from kiosk.sim.cards.desk import CardDeskComponent
    from kiosk.sim.hsm import TokensComponent
    from kiosk.sim.printer.control import PrinterComponent
    from kiosk.sim.world import ServicesComponent

    for name in ("PCSCLITE_CSOCK_NAME", "SOFTHSM2_CONF"):  # restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    shutil.copytree(test_pki.directory, tmp_path / "sim" / "pki")  # RSA generation is slow
    components: list[SimComponent] = [
        CardDeskComponent(),
        TokensComponent(),
        ServicesComponent(port=0),
        PrinterComponent(),
    ]
    world = SimWorld(state_dir=tmp_path / "sim", components=components)
    with world.running():
        yield tmp_path


def sim_settings(data_dir: Path) -> Settings:
    """The built-in simulation settings, with every file under ``data_dir``."""
    return parse_settings(
        {
            "paths": {"data_dir": str(data_dir), "log_dir": str(data_dir / "log")},
            "outbox": {
                "database": str(data_dir / "outbox.sqlite3"),
                "device_key": str(data_dir / "device.key"),
            },
        },
        source="test.toml",
    )


@pytest.fixture
async def desk_services(sim_world: Path) -> AsyncIterator[Services]:
    """The desk's services, as ``kiosk run`` will open them, on the simulated world."""
    async with open_services(sim_settings(sim_world)) as opened:
        yield opened
