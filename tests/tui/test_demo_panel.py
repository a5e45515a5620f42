"""The demo panel (F12, demo only) drives the simulated world; the app sees it as the real thing.

The app hears of the panel's card through its card monitor, of the scan through its
scanner, of the network cut through its probes: the same as when ``kiosk sim …``
runs in another terminal, which the tests do too (the CLI in a subprocess).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from kiosk.cards.ports import CardKind
from kiosk.domain.datamatrix import parse_payload
from kiosk.scanning.ports import ScanEvent, ScannerState, ScanPayload, ScanStatus
from kiosk.sim.control import SimControl
from kiosk.sim.scanner import people
from kiosk.sim.world import SimWorld
from kiosk.tui import app as app_module
from kiosk.tui.app import KioskApp
from kiosk.tui.demo_panel import DemoPanel
from kiosk.tui.messages import ScanReceived
from kiosk.tui.widgets.status import StatusBar
from kiosk.wiring import Services, open_services
from kiosk.wiring.probes import world_probe
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.command_line import run_script
from tests.demo_world import demo_world
from tests.desk import sim_settings
from tests.tui.fakes import FakeProbe, FakeServices

__all__ = ["demo_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (110, 40)


class FakeControl:
    """A world that records what it is asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def cards(self) -> Sequence[tuple[str, str]]:
        return [("adult", "one adult"), ("cpe-agent", "the agent's CPE")]

    def people(self) -> Sequence[str]:
        return ["paul-martin"]

    async def inserted(self) -> Sequence[str]:
        return [str(name) for op, name in self.calls if op == "insert"]

    async def insert_card(self, name: str) -> None:
        self.calls.append(("insert", name))

    async def pull_card(self, name: str) -> None:
        self.calls.append(("pull", name))

    async def scan(self, person: str) -> int:
        self.calls.append(("scan", person))
        return 1

    async def network(self, op: str, services: Sequence[str]) -> Mapping[str, bool]:
        self.calls.append((op, tuple(services)))
        return {}

    async def printer(self, command: str) -> None:
        self.calls.append(("printer", command))


async def _until(pilot: Pilot[None], ready: Callable[[], bool], seconds: float = 30) -> None:
    """Let the app run until ``ready()`` (a process or a poll must answer), within bounds."""
    async with asyncio.timeout(seconds):
        while not ready():
            await pilot.pause(0.05)


def _result(panel: object) -> str:
    """The panel's line under its list: what the last action did."""
    assert isinstance(panel, DemoPanel)
    return str(panel.query_one("#demo-result", Static).content)


async def _choose(pilot: Pilot[None], option_id: str) -> None:
    """Highlight the panel's action ``option_id`` and press Enter (F12 first if it is shut).

    The app drops every screen above the first one when the session ends (the CPE
    pulled): the panel with them.
    """
    if not isinstance(pilot.app.screen, DemoPanel):
        await pilot.press("f12")
        await _until(pilot, lambda: isinstance(pilot.app.screen, DemoPanel))
    actions = pilot.app.screen.query_one("#demo-actions", OptionList)
    actions.highlighted = actions.get_option_index(option_id)
    await pilot.press("enter")


async def test_f12_is_only_bound_in_a_demo() -> None:
    app = KioskApp(FakeServices())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "f12" not in app.screen.active_bindings
        await pilot.press("f12")
        await pilot.pause()
        assert not isinstance(app.screen, DemoPanel)


async def test_f12_opens_the_panel_whose_actions_reach_the_world() -> None:
    control = FakeControl()
    app = KioskApp(FakeServices(), demo=control)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "f12" in app.screen.active_bindings
        await pilot.press("f12")
        await _until(pilot, lambda: isinstance(app.screen, DemoPanel))
        await _choose(pilot, "insert:cpe-agent")
        await _until(pilot, lambda: ("insert", "cpe-agent") in control.calls)
        panel = app.screen
        assert isinstance(panel, DemoPanel)
        await _until(pilot, lambda: "cpe-agent" in panel.inserted)
        actions = panel.query_one("#demo-actions", OptionList)
        assert actions.get_option_index("pull:cpe-agent") >= 0  # the card is now pulled from here
        await _choose(pilot, "cut:all")
        await _until(pilot, lambda: ("cut", ("insi", "dmp")) in control.calls)
        await _choose(pilot, "scan:paul-martin")
        await _until(pilot, lambda: "paul-martin" in _result(panel))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DemoPanel)


async def test_the_world_light_names_a_dead_simulator() -> None:
    dead: list[str] = []
    probes = [FakeProbe("insi"), world_probe(lambda: dead)]
    app = KioskApp(FakeServices(probes=probes))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert str(app.screen.query_one("#probe-world", Static).content) == "Simulateurs ok"
        dead.append("cards")
        app.poll_probes()  # a round now, not in POLL_S seconds
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = str(app.screen.query_one("#probe-world", Static).content)
        assert shown == "Simulateurs hors service cards"


@pytest.fixture
async def demo_services(demo_world: SimWorld) -> AsyncIterator[Services]:
    """The services as ``kiosk demo`` opens them on its world."""
    settings = sim_settings(demo_world.state_dir.parent)
    async with open_services(settings, state_dir=demo_world.state_dir) as opened:
        yield opened


def _control(world: SimWorld) -> SimControl:
    settings = sim_settings(world.state_dir.parent)
    return SimControl(
        lambda: world_facts(settings, world.state_dir), world.state_dir / "cards" / "cards.sock"
    )


def _sim(world: SimWorld, *args: str) -> None:
    """``kiosk sim ARGS`` from a second terminal (a subprocess)."""
    done = run_script(world.state_dir.parent, "sim", *args, "--state-dir", str(world.state_dir))
    assert done.returncode == 0, done.stderr


class _HearingApp(KioskApp):
    """The app, noting every scanner event that reaches it (the screen lets them bubble)."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # else read from tests/

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard: list[ScanEvent] = []

    def on_scan_received(self, message: ScanReceived) -> None:
        self.heard.append(message.event)

    def reads(self) -> list[ScanPayload]:
        return [event for event in self.heard if isinstance(event, ScanPayload)]

    def scanner_connected(self) -> bool:
        return any(
            isinstance(e, ScanStatus) and e.state is ScannerState.CONNECTED for e in self.heard
        )


async def test_cards_and_scans_from_the_panel_and_the_cli_reach_the_app(
    demo_world: SimWorld, demo_services: Services
) -> None:
    app = _HearingApp(demo_services, demo=_control(demo_world))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _choose(pilot, "insert:cpe-agent")
        await _until(pilot, lambda: any(c.kind is CardKind.CPS for c in app.cards.values()))
        await asyncio.to_thread(_sim, demo_world, "card", "pull", "cpe-agent")
        await _until(pilot, lambda: not app.cards)
        await asyncio.to_thread(_sim, demo_world, "card", "insert", "adult")
        await _until(pilot, lambda: any(c.kind is CardKind.VITALE for c in app.cards.values()))

        await _until(pilot, app.scanner_connected)
        await _choose(pilot, "scan:lea-durand")
        await _until(pilot, lambda: len(app.reads()) == 1)
        await asyncio.to_thread(_sim, demo_world, "scan", "paul-martin")
        await _until(pilot, lambda: len(app.reads()) == 2)
        scanned = [parse_payload(read.data).ins.matricule.value for read in app.reads()]
    assert scanned == [people()["lea-durand"].matricule, people()["paul-martin"].matricule]


async def test_network_and_paper_from_the_panel_and_the_cli_turn_the_lights(
    demo_world: SimWorld, demo_services: Services
) -> None:
    app = KioskApp(demo_services, demo=_control(demo_world))

    async def lights(pilot: Pilot[None]) -> dict[str, bool | None]:
        bar = app.screen.query_one(StatusBar)
        if app.probing is not None:
            await app.probing.wait()
        app.probing = app.poll_probes()  # a round now, not in POLL_S seconds
        await app.probing.wait()
        await pilot.pause()
        return {name: light.up for name, light in bar.lights.items()}

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = await lights(pilot)
        assert all(before[name] for name in ("insi", "dmp", "printer")), before
        await pilot.press("f12")
        await _until(pilot, lambda: isinstance(app.screen, DemoPanel))
        panel = app.screen
        await _choose(pilot, "cut:all")
        await _until(pilot, lambda: "INSi" in _result(panel))
        await _choose(pilot, "printer:paper-out")
        await _until(pilot, lambda: "papier" in _result(panel))
        await pilot.press("escape")
        await pilot.pause()
        cut = await lights(pilot)
        assert cut["insi"] is False
        assert cut["dmp"] is False
        assert cut["printer"] is False
        text = str(app.screen.query_one("#probe-insi", Static).content)
        assert text.startswith("INSi hors service")

        await asyncio.to_thread(_sim, demo_world, "network", "restore", "dmp")
        await asyncio.to_thread(_sim, demo_world, "printer", "refill")
        back = await lights(pilot)
        assert back["insi"] is False
        assert back["dmp"] is True
        assert back["printer"] is True
