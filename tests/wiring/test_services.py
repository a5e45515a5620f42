"""``open_services``: the bundle a desk runs on, built from the simulated world's settings."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kiosk.config import Settings, parse_settings
from kiosk.services.enrolment import EnrolmentFlow, Stage
from kiosk.services.identity import IdentityFlow
from kiosk.services.session import SessionState
from kiosk.sim.pki import ESTABLISHMENT, TestPki
from kiosk.sim.world import SimWorld
from kiosk.wiring import Services, open_services
from tests import softhsm as tokens

test_pki = tokens.test_pki


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
    components = [CardDeskComponent(), TokensComponent(), ServicesComponent(port=0)]
    world = SimWorld(state_dir=tmp_path / "sim", components=[*components, PrinterComponent()])
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
async def services(sim_world: Path) -> AsyncIterator[Services]:
    """The desk's services, as ``kiosk run`` will open them, on the simulated world."""
    async with open_services(sim_settings(sim_world)) as opened:
        yield opened


async def test_the_bundle_holds_every_service_of_the_desk(
    services: Services, test_pki: TestPki
) -> None:
    assert services.session.state is SessionState.NO_CARD
    assert services.dmp._signer.certificate == test_pki.certificate(ESTABLISHMENT, "sign")
    assert "simulated" not in services.printer.name  # the world's printer, not a private one
    assert services.scanner is not None
    flow = services.identity_flow(lambda: services.vitale.read("no reader"))
    assert isinstance(flow, IdentityFlow)
    signer = test_pki.signer_for(ESTABLISHMENT)
    admission = services.enrolment_flow(signer, "3750100000/0000042", "Marie", "Essai")
    assert isinstance(admission, EnrolmentFlow)
    assert admission.stage is Stage.START


async def test_the_footer_probes_see_the_world(services: Services) -> None:
    results = {probe.name: await probe.check() for probe in services.probes}
    assert list(results) == ["insi", "dmp", "outbox", "readers", "printer"]
    assert results["insi"].up, results
    assert results["dmp"].up, results
    assert results["outbox"].up
    assert results["outbox"].detail == "0"
    assert results["readers"].up, results
    assert results["printer"].up, results
