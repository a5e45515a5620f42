"""Reopening a patient of this session at the desk (F6 on the home), on the simulated stack.

Issue 16: "A patient's record of this session can be reopened to reprint or to finish
a deferred step." The admission is driven to its DMP created through the service (its
screens have their own tests), the card pulled, then everything else is keys: F6, the
row, Enter, the summary's F6 to the web account, the receipt printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kiosk.cards.ports import CardKind
from kiosk.services.admission import Admission
from kiosk.services.stages import Stage
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.home import DeskHomeScreen
from kiosk.tui.desk.pin import PinScreen
from kiosk.tui.desk.session_patients import SessionPatientsScreen
from kiosk.tui.desk.summary import SummaryScreen
from kiosk.tui.desk.web_account import WebAccountScreen
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import desk_services, printed_pages, sim_world
from tests.tui.world import AGENT_PIN, WorldApp, card, settle, wait_for, with_card

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)


async def _at_home(app: KioskApp, pilot: Pilot[None]) -> None:
    """The agent's CPE in, its PIN typed on the PIN screen: the desk's home."""
    await with_card(app, pilot, "cpe-agent", CardKind.CPS)
    await wait_for(pilot, lambda: isinstance(app.screen, PinScreen), "the PIN screen")
    await settle(app, pilot)
    await pilot.press(*AGENT_PIN, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DeskHomeScreen), "home")
    await settle(app, pilot)


async def _qualified(app: KioskApp, pilot: Pilot[None]) -> Admission:
    """From the home: the adult's Vitale in (the home starts the admission), qualified."""
    await _at_home(app, pilot)
    await with_card(app, pilot, "adult", CardKind.VITALE)
    desk = app.services.desk
    await wait_for(pilot, lambda: desk.admission is not None, "the admission begun")
    admission = desk.admission
    assert admission is not None
    await settle(app, pilot)
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    return admission


async def _created_then_gone(app: KioskApp, pilot: Pilot[None]) -> Admission:
    """The adult's DMP created at the desk, then the card pulled: back on the home."""
    admission = await _qualified(app, pilot)
    await admission.dmp_status()
    await admission.give_information(brochure=True)
    await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    assert admission.stage is Stage.CREATED
    card(app.services, "pull", "adult")  # type: ignore[arg-type]
    await wait_for(pilot, lambda: app.services.desk.admission is None, "the card left")
    await wait_for(pilot, lambda: isinstance(app.screen, DeskHomeScreen), "home")
    await settle(app, pilot)
    return admission


async def _press(app: KioskApp, pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(app, pilot)


async def test_the_agent_reopens_a_patient_and_prints_the_web_account_asked_later(
    desk_services: Services,
) -> None:
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await _created_then_gone(app, pilot)
        await _press(app, pilot, "f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPatientsScreen), "list")
        table = app.screen.query_one("#session-patients-table", DataTable)
        assert table.has_focus
        assert [str(c) for c in table.get_row_at(0)] == ["PAUL MARTIN-TEST", "DMP créé", "non"]

        await _press(app, pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), "summary")
        await settle(app, pilot)
        assert services.desk.admission is not None
        assert services.desk.admission.stage is Stage.CREATED
        await _press(app, pilot, "f6")  # the web account the patient asks for now
        await wait_for(pilot, lambda: isinstance(app.screen, WebAccountScreen), "web account")
        await settle(app, pilot)
        assert app.screen.query_one("#web-mobile", Input).has_focus
        await pilot.press(*"+262692123456")
        await _press(app, pilot, "enter")
        assert services.desk.admission.stage is Stage.WEB_ACCOUNT_OPEN
        await _press(app, pilot, "enter")  # print
        await wait_for(pilot, lambda: len(printed_pages(services)) == 1, "printed", bound_s=40)

        await services.desk.logout()  # the session ends: the list goes with it
        await wait_for(pilot, lambda: not services.desk.session_patients(), "wiped")
        await settle(app, pilot)
        assert not isinstance(app.screen, SessionPatientsScreen | SummaryScreen)
        shown = " ".join(str(s.content) for s in app.screen.query(Static))
        assert "MARTIN" not in shown


async def test_an_empty_list_says_so_and_escape_goes_home(desk_services: Services) -> None:
    app = KioskApp(desk_services, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        admission = await _qualified(app, pilot)  # qualified only: nothing recorded
        assert admission.stage is None or admission.stage is Stage.QUALIFIED
        card(app.services, "pull", "adult")  # type: ignore[arg-type]
        await wait_for(pilot, lambda: isinstance(app.screen, DeskHomeScreen), "home")
        await settle(app, pilot)
        await _press(app, pilot, "f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPatientsScreen), "list")
        message = str(app.screen.query_one("#session-patients-message", Static).content)
        assert message == "No patient to resume in this session."
        assert not app.screen.query_one("#session-patients-table", DataTable).display
        await _press(app, pilot, "escape")
        assert isinstance(app.screen, DeskHomeScreen)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_session_patients_snapshot(snap_compare: Any, sim_world: Path, lang: str) -> None:
    app = WorldApp(sim_world, lang)

    async def run_before(pilot: Pilot[None]) -> None:
        await _created_then_gone(app, pilot)
        await app.push_screen(SessionPatientsScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPatientsScreen), "list")
        if app.probing is not None:
            await app.probing.wait()
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
