"""The named login of indirect mode at the desk: name, password, then the establishment PIN.

Seed 000: « L'accès au DMP nécessite une identification nominative, il faut donc que le
PS s’authentifie localement ». A site with an agent directory gets this screen on F5;
the session, the footer and the audit then name the agent.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from kiosk.agents.sitefile import SiteAgentFile, fast_hasher
from kiosk.services.session import SessionState
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.agent_login import AgentLoginScreen
from kiosk.tui.desk.home import DeskHomeScreen
from kiosk.wiring import open_services
from tests import softhsm as tokens
from tests.desk import sim_settings, sim_world
from tests.tui.world import settle, wait_for

__all__ = ["sim_world"]  # fixture, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
PASSWORD = "claire passe 2026"  # a test value of this fixture only
ESTABLISHMENT_PIN = "87654321"  # kiosk/sim/data/professionals.toml [establishment]


def _shown(app: KioskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def _type(app: KioskApp, pilot: Pilot[None], value: str) -> None:
    await pilot.press(*value, "enter")
    await settle(app, pilot)


async def test_the_agent_types_name_password_and_pin(sim_world: Path) -> None:
    SiteAgentFile(sim_world / "agents.toml", fast_hasher()).add(
        "cmartin", PASSWORD, given_name="Claire", family_name="MARTIN-TEST", role="secretary"
    )
    settings = sim_settings(sim_world)
    site = settings.site.model_copy(update={"indirect_mode": True})
    agents = settings.agents.model_copy(update={"kind": "file", "file": sim_world / "agents.toml"})
    async with open_services(settings.model_copy(update={"site": site, "agents": agents})) as s:
        app = KioskApp(s)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, AgentLoginScreen), "named login")
            await settle(app, pilot)
            screen = app.screen
            assert screen.query_one("#agent-password", Input).password
            assert screen.query_one("#pin-input", Input).password
            assert app.focused is screen.query_one("#agent-name", Input)

            await _type(app, pilot, "cmartin")
            await _type(app, pilot, "wrong password")
            await _type(app, pilot, ESTABLISHMENT_PIN)
            await wait_for(pilot, lambda: not screen.checking, "the directory's answer")
            await settle(app, pilot)
            assert _shown(app, "#pin-message") == "Nom ou mot de passe incorrect."
            assert s.session.state is not SessionState.LOGGED_IN
            assert screen.query_one("#agent-password", Input).value == ""
            assert app.focused is screen.query_one("#agent-password", Input)  # name kept

            await _type(app, pilot, PASSWORD)
            await _type(app, pilot, ESTABLISHMENT_PIN)
            await wait_for(pilot, lambda: isinstance(app.screen, DeskHomeScreen), "home")
            await settle(app, pilot)
            assert s.session.professional is not None
            assert s.session.professional.national_id == "3750100000/cmartin"
            assert "Claire MARTIN-TEST" in _shown(app, "#status-agent")


async def test_with_the_sites_pin_file_no_pin_field(sim_world: Path) -> None:
    SiteAgentFile(sim_world / "agents.toml", fast_hasher()).add(
        "cmartin", PASSWORD, given_name="Claire", family_name="MARTIN-TEST", role="secretary"
    )
    pin_file = sim_world / "establishment.pin"
    pin_file.write_text(ESTABLISHMENT_PIN)
    pin_file.chmod(0o600)
    settings = sim_settings(sim_world)
    site = settings.site.model_copy(update={"indirect_mode": True})
    agents = settings.agents.model_copy(
        update={
            "kind": "file",
            "file": sim_world / "agents.toml",
            "establishment_pin_file": pin_file,
        }
    )
    async with open_services(settings.model_copy(update={"site": site, "agents": agents})) as s:
        app = KioskApp(s)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, AgentLoginScreen), "named login")
            await settle(app, pilot)
            assert not app.screen.query_one("#pin-field").display
            await _type(app, pilot, "cmartin")
            await _type(app, pilot, PASSWORD)  # Enter on the password submits
            await wait_for(pilot, lambda: isinstance(app.screen, DeskHomeScreen), "home")
            assert s.session.professional is not None
            assert s.session.professional.national_id == "3750100000/cmartin"
