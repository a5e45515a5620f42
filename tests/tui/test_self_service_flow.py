"""A patient enrols alone at the self-service kiosk, on the real simulated stack, at 50×15.

Issue 18: "Pilot tests of the full self-service flow on the real simulated stack in
both languages: DMP created with the consent record; receipt printed; audit verifies".
The patient is one an agent qualified at an earlier desk visit (the demo's record
store, ``kiosk/sim/data/earlier_visits.toml``): the kiosk checks no document. In French
with the keyboard (arrows and Enter), in English with the mouse (touch sends clicks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardKind
from kiosk.clock import FrozenClock
from kiosk.printing.ports import JobKind
from kiosk.sim.visits import seed_earlier_visits
from kiosk.tui.app import KioskApp
from kiosk.tui.selfservice.attract import AttractScreen
from kiosk.tui.selfservice.authorize import AuthorizeScreen
from kiosk.tui.selfservice.consent import ConsentScreen
from kiosk.tui.selfservice.details import DetailsScreen
from kiosk.tui.selfservice.information import InformationScreen
from kiosk.tui.selfservice.mobile import MobileScreen
from kiosk.tui.selfservice.who import WhoScreen
from kiosk.wiring import Services, open_services
from tests import softhsm as tokens
from tests.desk import dmp_record, printed_pages, sim_settings, sim_world
from tests.tui.world import card, gone, on_screen, press, settle, shown, wait_for, with_card

__all__ = ["sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SMALL = (50, 15)
ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
KNOWN_NIR = "168023155504273"  # dmp-known.toml: the DMP Mon espace santé created
PERSON = ("MARTIN-TEST", "PAUL HENRI", ADULT_NIR, "19800523", "23/05/1980")


@pytest.fixture
async def kiosk(sim_world: Path) -> AsyncIterator[Services]:
    """A self-service kiosk on the world, its record store holding the earlier desk visits."""
    clock = FrozenClock(datetime.now(UTC))
    async with open_services(sim_settings(sim_world), clock=clock) as opened:
        await seed_earlier_visits(opened.records, clock.now())
        yield opened


async def _choose(app: KioskApp, pilot: Pilot[None], selector: str, mouse: bool) -> None:
    """Touch the button, or reach it with the arrow keys and press Enter."""
    target = app.screen.query_one(selector, Button)
    if mouse:  # as a person would: not while the button still shows its last press
        await wait_for(pilot, lambda: not target.has_class("-active"), "button released")
        await pilot.click(selector)
        await settle(app, pilot)
        return
    for _ in range(8):
        if app.focused is target:
            break
        await press(app, pilot, "right")
    assert app.focused is target, f"{selector} is not reachable with the arrows"
    await press(app, pilot, "enter")


async def _visit(app: KioskApp, pilot: Pilot[None], name: str) -> None:
    await on_screen(pilot, app, AttractScreen)
    await with_card(app, pilot, name, CardKind.VITALE)
    await on_screen(pilot, app, WhoScreen)
    await wait_for(pilot, lambda: app.screen.query("#who-0"), "the card read")


@pytest.mark.parametrize(("lang", "mouse"), [("fr", False), ("en", True)])
async def test_a_patient_enrols_alone_from_card_to_printed_details(
    kiosk: Services, lang: str, mouse: bool
) -> None:
    services = kiosk
    app = KioskApp(services, mode="self", lang=lang)
    async with app.run_test(size=SMALL) as pilot:
        await _visit(app, pilot, "adult")
        await _choose(app, pilot, "#who-0", mouse)
        await on_screen(pilot, app, InformationScreen)
        pages = []
        for _ in range(3):
            pages.append(shown(app, "#information-text"))
            await _choose(app, pilot, "#information-next", mouse)
        assert ("carnet de santé" if lang == "fr" else "digital health record") in pages[0]
        assert "SAMU" in pages[1]
        assert ("masquer" if lang == "fr" else "hide a document") in pages[2]

        await on_screen(pilot, app, ConsentScreen)
        asked = []
        for answer in ("#answer-yes", "#answer-yes", "#answer-yes", "#answer-no"):
            asked.append(shown(app, "#question-title") + " " + shown(app, "#question-text"))
            await _choose(app, pilot, answer, mouse)
        preset = "Réglé sur oui" if lang == "fr" else "Set to yes"
        assert [preset in q for q in asked] == [False, False, True, True]

        await on_screen(pilot, app, DetailsScreen)
        await _choose(app, pilot, "#answer-yes", mouse)  # "Print my connection details"
        await on_screen(pilot, app, MobileScreen)
        before = len(printed_pages(services))
        if mouse:
            for key in "+596696123456":  # Martinique, on the keypad
                index = "123456789+0".index(key)
                await _choose(app, pilot, f"#key-{index}", mouse)
            await pilot.click("#mobile-print")
        else:
            await pilot.press(*"0612345678", "enter")
        await on_screen(pilot, app, AttractScreen)
        title = shown(app, "#attract-title")
        assert title == (
            "Votre DMP est créé. Merci !" if lang == "fr" else "Your DMP is created. Thank you!"
        )
        assert "Reprenez votre carte Vitale" in shown(app, "#attract-other")
        await gone(app, pilot, PERSON)  # finishing wiped, the card still in

        record = await dmp_record(services, ADULT_NIR)
        assert record["exists"]
        assert record["consent"]["regulation_centre_access"] is False
        assert record["consent"]["emergency_access"] is True
        assert services.print_queue.last(JobKind.RECEIPT) is not None
        assert len(printed_pages(services)) == before + 1
        await services.outbox.chain_owed()
        assert (await AuditLog(services.outbox.path).verify()).ok

        card(services, "pull", "adult")
        await wait_for(pilot, lambda: "Vitale" in shown(app, "#attract-title"), "the card taken")
        await gone(app, pilot, PERSON)


async def test_an_existing_dmp_is_opened_to_this_hospital_in_one_question(
    kiosk: Services,
) -> None:
    services = kiosk
    app = KioskApp(services, mode="self", lang="en")
    async with app.run_test(size=SMALL) as pilot:
        await _visit(app, pilot, "dmp-known")
        await _choose(app, pilot, "#who-0", False)
        await on_screen(pilot, app, AuthorizeScreen)
        assert "May the hospital read it?" in shown(app, "#question-title")
        await press(app, pilot, "enter")  # a stray Enter answers nothing: no answer is pre-set
        assert isinstance(app.screen, AuthorizeScreen)
        assert app.focused is None
        await _choose(app, pilot, "#answer-yes", False)
        await on_screen(pilot, app, AttractScreen)
        assert "the hospital may read your DMP" in shown(app, "#attract-title")
        record = await dmp_record(services, KNOWN_NIR)
        assert list(record["authorizations"].values()) == ["VALIDE"]
