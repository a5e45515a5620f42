"""The desk's services as ``kiosk run`` opens them, on a simulated world: one builder for tests.

Tests that need the whole desk (readers, tokens, INSi/DMP, printer) take the
``desk_services`` fixture instead of assembling sessions, flows and stores by hand;
tests of one service in isolation keep their in-memory ports and in-process
simulators (virtual time, injected faults), which a world of processes cannot give.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.cards.ports import CardEvent, CardInserted, CardKind
from kiosk.config import Settings, parse_settings
from kiosk.domain.ins import Ins
from kiosk.errors import PinIncorrect
from kiosk.services.admission import Admission
from kiosk.services.session import SessionState
from kiosk.services.stages import Stage
from kiosk.sim.cards.desk import control_request
from kiosk.sim.component import SimComponent
from kiosk.sim.pki import TestPki
from kiosk.sim.world import SimWorld
from kiosk.wiring import Services, open_services
from kiosk.wiring.world import world_facts
from tests.pcsc_link import point_pcsc_at

__all__ = [
    "AGENT_PIN",
    "card_control",
    "created",
    "desk_services",
    "dmp_record",
    "logged_in",
    "next_event",
    "patient_with_a_dmp",
    "printed_pages",
    "qr_texts",
    "qualified",
    "sim_settings",
    "sim_world",
]

AGENT_PIN = "1234"  # kiosk/sim/data/professionals.toml, the fixture agent's test PIN


@pytest.fixture
def sim_world(
    tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh demo world (readers, tokens, INSi/DMP, printer) under ``<home>/sim``.

    The home is the same directory for every test of a worker, emptied before each:
    SoftHSM2 is initialised once per process, so the tokens it loaded stay (their
    PIN-try counters are reset); and libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once
    per process, so the worker's one socket path is pointed at this world's pcscd
    (``tests/pcsc_link.py``).
    """
    tmp_path = tmp_path_factory.getbasetemp() / "desk-world"  # one per xdist worker
    _empty(tmp_path)
    from kiosk.sim.cards.desk import CardDeskComponent
    from kiosk.sim.hsm import TokensComponent
    from kiosk.sim.printer.control import PrinterComponent
    from kiosk.sim.world import ServicesComponent

    for name in ("PCSCLITE_CSOCK_NAME", "SOFTHSM2_CONF"):  # restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    # RSA generation is slow: the session's test PKI, copied once per worker.
    shutil.copytree(test_pki.directory, tmp_path / "sim" / "pki", dirs_exist_ok=True)
    components: list[SimComponent] = [
        CardDeskComponent(),
        TokensComponent(),
        ServicesComponent(port=0),
        PrinterComponent(),
    ]
    world = SimWorld(state_dir=tmp_path / "sim", components=components)
    with world.running():
        point_pcsc_at(world.env["PCSCLITE_CSOCK_NAME"], tmp_path_factory.getbasetemp())
        yield tmp_path


def _empty(home: Path) -> None:
    """Everything of the last world goes but its tokens and the PKI they hold."""

    def remove(path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

    sim = home / "sim"
    sim.mkdir(parents=True, exist_ok=True)
    for child in home.iterdir():
        if child != sim:
            remove(child)
    for child in sim.iterdir():
        if child.name not in ("hsm", "pki"):
            remove(child)
    tries = sim / "hsm" / "pin-tries"
    for child in tries.iterdir() if tries.is_dir() else ():
        remove(child)


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


def printed_pages(services: Services) -> list[Path]:
    """The pages the world's simulated printer cut, oldest first (its job PNGs)."""
    jobs = Path(str(world_facts(services.settings)["printer"]["jobs_dir"]))  # type: ignore[index]
    return sorted(jobs.glob("job-*.png"))


def qr_texts(page: Path) -> list[str]:
    """What the QR codes on a printed page say."""
    import zxingcpp
    from PIL import Image

    with Image.open(page) as image:
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def card_control(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """Ask the world's card desk to insert or pull a virtual card; it must agree."""
    path = world_facts(services.settings).get("cards_control")
    reply = control_request(Path(str(path)), request)
    assert reply.get("ok"), reply
    return reply


async def next_event(events: Any, want: type[CardEvent], kind: CardKind | None = None) -> CardEvent:
    """The next card event of type ``want`` (and card kind), within a bounded wait."""

    async def find() -> CardEvent:
        async for event in events:
            if isinstance(event, want) and (kind is None or event.kind is kind):  # type: ignore[attr-defined]
                return event
        raise AssertionError("monitor stopped")

    return await asyncio.wait_for(find(), timeout=20)


async def logged_in(services: Services, events: Any) -> None:
    """The fixture agent's CPE goes in; a wrong PIN is refused, the right one opens."""
    card_control(services, {"op": "insert", "card": "cpe-agent"})
    cpe = await next_event(events, CardInserted, CardKind.CPS)
    await services.desk.card_event(cpe)
    assert services.session.state is SessionState.CARD_PRESENT
    with pytest.raises(PinIncorrect):
        await services.desk.login("0000")
    who = await services.desk.login(AGENT_PIN)
    assert who.family_name == "ACCUEIL-TEST"


async def dmp_record(services: Services, nir: str) -> dict[str, Any]:
    """What the world's simulated DMP holds for ``nir`` (its test-only view)."""
    dmp_url = str(world_facts(services.settings)["dmp_url"]).rstrip("/")
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{dmp_url}/_sim/dmp/{nir}")
    answer.raise_for_status()
    record: dict[str, Any] = answer.json()
    return record


async def qualified(
    services: Services, events: Any, card: str = "adult", index: int = 0
) -> Admission:
    """``card`` in, beneficiary ``index`` chosen, INSi asked, the document checked: qualified."""
    card_control(services, {"op": "insert", "card": card})
    vitale = await next_event(events, CardInserted, CardKind.VITALE)
    await services.desk.card_event(vitale)
    admission = services.desk.begin_admission(vitale.reader)
    await admission.read_card()
    admission.choose(index)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    return admission


async def created(admission: Admission) -> Admission:
    """From a qualified identity with no DMP: informed, full consent, the DMP created."""
    await admission.dmp_status()
    await admission.give_information(brochure=True)
    stage = await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    assert stage is Stage.CREATED
    return admission


async def patient_with_a_dmp(services: Services, events: Any) -> Ins:
    """The adult's card in, the identity qualified, the DMP created with consent: the INS."""
    admission = await created(await qualified(services, events))
    assert admission.patient is not None
    return admission.patient
