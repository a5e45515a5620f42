"""The demo's world for tests: the services behind the cuttable network, and the scanner.

``remote_world`` is the light one (INSi/DMP, network, scanner: no pcscd, no tokens)
for the ``kiosk sim scan|network`` tests; ``demo_world`` adds the readers, tokens and
printer, as ``kiosk demo`` runs them, for the TUI tests of the demo panel.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.sim.component import SimComponent
from kiosk.sim.network import NetworkComponent
from kiosk.sim.pki import TestPki
from kiosk.sim.scanner import ScannerComponent
from kiosk.sim.world import ServicesComponent, SimWorld
from tests.desk import _empty
from tests.pcsc_link import point_pcsc_at

__all__ = ["demo_world", "remote_world"]


def _world(home: Path, test_pki: TestPki, components: list[SimComponent]) -> SimWorld:
    # RSA generation is slow: the session's test PKI.
    shutil.copytree(test_pki.directory, home / "sim" / "pki", dirs_exist_ok=True)
    return SimWorld(state_dir=home / "sim", components=components)


@pytest.fixture
def remote_world(tmp_path: Path, test_pki: TestPki) -> Iterator[SimWorld]:
    """INSi/DMP behind the simulated network, and the scanner, under ``tmp_path/sim``."""
    components: list[SimComponent] = [
        ServicesComponent(port=0),
        NetworkComponent(),
        ScannerComponent(),
    ]
    with _world(tmp_path, test_pki, components).running() as world:
        yield world


@pytest.fixture
def demo_world(
    tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimWorld]:
    """The demo's world (readers, tokens, INSi/DMP behind the network, printer, scanner).

    In the home of ``tests.desk.sim_world``, emptied the same way: libpcsclite and
    SoftHSM2 bind a process to the first world's socket and tokens.
    """
    from kiosk.sim.cards.desk import CardDeskComponent
    from kiosk.sim.hsm import TokensComponent
    from kiosk.sim.printer.control import PrinterComponent

    for name in ("PCSCLITE_CSOCK_NAME", "SOFTHSM2_CONF"):  # restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    components: list[SimComponent] = [
        CardDeskComponent(),
        TokensComponent(),
        ServicesComponent(port=0),
        NetworkComponent(),
        PrinterComponent(),
        ScannerComponent(),
    ]
    home = tmp_path_factory.getbasetemp() / "desk-world"  # tests.desk.sim_world's
    _empty(home)
    with _world(home, test_pki, components).running() as world:
        point_pcsc_at(world.env["PCSCLITE_CSOCK_NAME"], tmp_path_factory.getbasetemp())
        yield world
