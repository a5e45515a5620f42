"""The agent's way in at the desk, on the real simulated stack: CPE, PIN, home, lock, logout.

Cards go in and out through the world's card desk (as ``kiosk sim card`` does); the
PIN goes through the masked input to the SoftHSM2 token of the fixture CPE.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from kiosk.cards.ports import CardKind
from kiosk.clock import FrozenClock
from kiosk.services.session import SessionState
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.home import DeskHomeScreen
from kiosk.tui.desk.pin import PinMode, PinScreen
from kiosk.tui.desk.welcome import WelcomeScreen
from kiosk.tui.widgets.status import StatusBar
from kiosk.wiring import Services, open_services
from tests import softhsm as tokens
from tests.desk import desk_services, sim_settings, sim_world
from tests.tui.world import AGENT_PIN, card, settle, wait_for, with_card

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
AGENT = "Camille ACCUEIL-TEST"  # kiosk/sim/data/professionals.toml, id "agent"
WRONG = "9999"


def _shown(app: KioskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def _on(app: KioskApp, pilot: Pilot[None], screen: type, what: str) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, screen), what)
    await settle(app, pilot)


async def _cpe_in(app: KioskApp, pilot: Pilot[None]) -> None:
    await with_card(app, pilot, "cpe-agent", CardKind.CPS)
    await _on(app, pilot, PinScreen, "the PIN screen after the CPE")


async def _type_pin(app: KioskApp, pilot: Pilot[None], pin: str) -> None:
    await pilot.press(*pin, "enter")
    await settle(app, pilot)


async def test_the_cpe_opens_the_pin_screen_and_a_wrong_pin_says_the_tries_left(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        await _cpe_in(app, pilot)
        screen = app.screen
        assert isinstance(screen, PinScreen)
        assert screen.mode is PinMode.CARD
        field = screen.query_one("#pin-input", Input)
        assert field.password
        reader = desk_services.session.reader
        assert reader is not None
        assert reader in _shown(app, "#pin-reader")

        await pilot.press(*WRONG)
        assert field.value == WRONG
        await pilot.press("enter")
        assert field.value == ""  # cleared before the token is asked
        await settle(app, pilot)
        assert _shown(app, "#pin-message") == "Code faux : 2 essais restants."
        assert desk_services.session.state is SessionState.CARD_PRESENT

        await _type_pin(app, pilot, AGENT_PIN)
        await _on(app, pilot, DeskHomeScreen, "home after the right PIN")
        assert desk_services.session.state is SessionState.LOGGED_IN
        agent = _shown(app, "#status-agent")
        assert agent.startswith(f"Agent : {AGENT}")
        assert "Agent d'accueil" in agent
        assert "3750100000" in agent
        assert _shown(app, "#home-prompt") == "Insérez la carte Vitale du patient"
        assert [type(s) for s in app.screen_stack] == [WelcomeScreen, DeskHomeScreen]


async def test_two_wrong_pins_warn_of_the_last_try_and_three_block_the_card(
    desk_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, WRONG)
        await _type_pin(app, pilot, WRONG)
        assert _shown(app, "#pin-message").startswith("Code faux. Dernier essai")
        await _type_pin(app, pilot, WRONG)
        assert desk_services.session.state is SessionState.CARD_BLOCKED
        assert "Carte bloquée" in _shown(app, "#pin-message")
        assert "émetteur" in _shown(app, "#pin-message")  # what to do
        assert app.screen.query_one("#pin-input", Input).disabled

        tried: list[str] = []
        real_login = desk_services.desk.login

        async def counted(pin: str) -> Any:
            tried.append("login")
            return await real_login(pin)

        monkeypatch.setattr(desk_services.desk, "login", counted)
        await _type_pin(app, pilot, AGENT_PIN)
        assert tried == []  # a blocked card is not tried again
        assert isinstance(app.screen, PinScreen)

        await pilot.press("f2")
        await pilot.pause()
        assert _shown(app, "#pin-message").startswith("Card blocked")


async def test_pulling_the_cpe_on_the_pin_screen_goes_back_to_the_welcome(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, WRONG)
        card(desk_services, "pull", "cpe-agent")
        await _on(app, pilot, WelcomeScreen, "welcome after the CPE left")
        assert len(app.screen_stack) == 1
        assert _shown(app, "#welcome-card") == ""


async def test_pulling_the_cpe_at_home_ends_the_session_and_clears_the_agent(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, AGENT_PIN)
        await _on(app, pilot, DeskHomeScreen, "home")
        card(desk_services, "pull", "cpe-agent")
        await _on(app, pilot, WelcomeScreen, "welcome after the CPE left")
        assert desk_services.session.state is SessionState.ENDED
        assert _shown(app, "#status-agent") == "Aucun agent connecté"
        assert AGENT not in _shown(app, "#status-agent")


async def test_the_logout_key_ends_the_session_and_enter_asks_the_pin_again(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, AGENT_PIN)
        await _on(app, pilot, DeskHomeScreen, "home")
        await pilot.press("f10")
        await _on(app, pilot, WelcomeScreen, "welcome after logout")
        assert desk_services.session.state is SessionState.ENDED
        assert _shown(app, "#status-agent") == "Aucun agent connecté"
        assert "Entrée" in _shown(app, "#welcome-card")  # the CPE is still in
        await pilot.press("enter")
        await _on(app, pilot, PinScreen, "the PIN again")
        await _type_pin(app, pilot, AGENT_PIN)
        await _on(app, pilot, DeskHomeScreen, "home again")


async def test_a_vitale_at_home_starts_the_admission_and_an_unknown_card_is_named(
    desk_services: Services,
) -> None:
    from kiosk.tui.desk.beneficiaries import BeneficiariesScreen

    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, AGENT_PIN)
        await _on(app, pilot, DeskHomeScreen, "home")
        reader = await with_card(app, pilot, "unknown", CardKind.UNKNOWN)
        assert f"Carte non reconnue dans « {reader} »" in _shown(app, "#home-card")
        assert desk_services.desk.admission is None
        card(desk_services, "pull", "unknown")  # two readers: the CPE holds the other
        await wait_for(pilot, lambda: reader not in app.cards, "the unknown card left")

        vitale = await with_card(app, pilot, "adult", CardKind.VITALE)
        await _on(app, pilot, BeneficiariesScreen, "the beneficiaries")
        admission = desk_services.desk.admission
        assert admission is not None
        assert admission.reader == vitale

        card(desk_services, "pull", "adult")
        await _on(app, pilot, DeskHomeScreen, "home after the Vitale left")
        assert desk_services.desk.admission is None


@contextlib.asynccontextmanager
async def _frozen_services(world: Path, clock: FrozenClock) -> Any:
    async with open_services(sim_settings(world), clock=clock) as opened:
        yield opened


async def test_inactivity_locks_the_session_and_the_pin_unlocks_it(sim_world: Path) -> None:
    clock = FrozenClock()
    async with _frozen_services(sim_world, clock) as services:
        app = KioskApp(services)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await _cpe_in(app, pilot)
            await _type_pin(app, pilot, AGENT_PIN)
            await _on(app, pilot, DeskHomeScreen, "home")

            clock.advance(services.session.inactivity_timeout_s + 1)
            app.check_inactivity()
            await wait_for(pilot, lambda: services.session.state is SessionState.LOCKED, "lock")
            await _on(app, pilot, PinScreen, "the unlock PIN")
            screen = app.screen
            assert isinstance(screen, PinScreen)
            assert screen.mode is PinMode.UNLOCK
            assert _shown(app, "#status-agent") == f"Agent : {AGENT} (verrouillé)"
            await pilot.press("escape")  # a locked session is not left that way
            await pilot.pause()
            assert app.screen is screen

            await _type_pin(app, pilot, WRONG)
            assert _shown(app, "#pin-message") == "Code faux : 2 essais restants."
            await _type_pin(app, pilot, AGENT_PIN)
            await _on(app, pilot, DeskHomeScreen, "home after unlocking")
            assert services.session.state is SessionState.LOGGED_IN
            assert [type(s) for s in app.screen_stack] == [WelcomeScreen, DeskHomeScreen]


async def test_indirect_mode_is_offered_only_where_the_site_allows_it(
    desk_services: Services,
) -> None:
    assert desk_services.session.establishment_label is None  # the default site
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f5")
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert not app.screen.query_one("#welcome-hint").display


async def test_the_establishment_pin_opens_an_indirect_session(sim_world: Path) -> None:
    settings = sim_settings(sim_world)
    site = settings.site.model_copy(update={"indirect_mode": True})
    async with open_services(settings.model_copy(update={"site": site})) as services:
        assert services.session.establishment_label == f"ORG {site.establishment_id}"
        app = KioskApp(services)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert "F5" in _shown(app, "#welcome-hint")
            await pilot.press("f5")
            await _on(app, pilot, PinScreen, "the establishment's PIN")
            assert "ORG 3750100000" in _shown(app, "#pin-reader")
            await _type_pin(app, pilot, "87654321")  # professionals.toml [establishment]
            await _on(app, pilot, DeskHomeScreen, "home in indirect mode")
            assert _shown(app, "#status-agent").startswith("Mode indirect :")


class _WorldApp(KioskApp):
    """The app on services opened in its own event loop (a snapshot runs the app itself)."""

    CSS_PATH = str(Path(__file__).parents[2] / "kiosk" / "tui" / "app.tcss")  # not beside us

    def __init__(self, world: Path, lang: str) -> None:
        super().__init__(None, lang=lang)  # type: ignore[arg-type]  # opened on load
        self._world = world
        self._stack = contextlib.AsyncExitStack()

    async def on_load(self) -> None:
        clock = FrozenClock()
        opened = open_services(sim_settings(self._world), clock=clock)
        self.services = await self._stack.enter_async_context(opened)

    async def on_unmount(self) -> None:
        await self._stack.aclose()


async def _probed(app: KioskApp, pilot: Pilot[None]) -> None:
    """The lights' round is over, so the footer is the same on every run."""
    await settle(app, pilot)
    for field in app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor would differ from run to run
    bar = app.screen.query_one(StatusBar)
    if bar.polling is not None:
        await bar.polling.wait()
    await pilot.pause()


def _welcome_with_cpe(app: KioskApp) -> Any:
    async def run(pilot: Pilot[None]) -> None:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await pilot.press("escape")  # back to the welcome, the CPE still in
        await _on(app, pilot, WelcomeScreen, "welcome")
        await _probed(app, pilot)

    return run


def _pin_after_a_wrong_one(app: KioskApp) -> Any:
    async def run(pilot: Pilot[None]) -> None:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, WRONG)
        await _probed(app, pilot)

    return run


def _home(app: KioskApp) -> Any:
    async def run(pilot: Pilot[None]) -> None:
        await settle(app, pilot)
        await _cpe_in(app, pilot)
        await _type_pin(app, pilot, AGENT_PIN)
        await _on(app, pilot, DeskHomeScreen, "home")
        await _probed(app, pilot)

    return run


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    "steps", [_welcome_with_cpe, _pin_after_a_wrong_one, _home], ids=["welcome", "pin", "home"]
)
def test_the_login_screens_snapshots(
    snap_compare: Any, sim_world: Path, lang: str, steps: Any
) -> None:
    app = _WorldApp(sim_world, lang)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(app))
