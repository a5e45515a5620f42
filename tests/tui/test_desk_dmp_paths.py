"""The DMP status screen's paths of Mon espace santé, and the closure at the patient's request.

Seed 004: « le DMP est automatiquement créé pour les usagers non détenteurs sauf en cas
d'opposition »; seed 001: the patient « décide de sa création et de sa fermeture ». The
fixture patients' states are the simulated DMP's (``kiosk/sim/data/dmp_population.toml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input

from kiosk.services.stages import Stage
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.closure import ClosureScreen
from kiosk.tui.desk.dmp_status import DmpStatusScreen
from kiosk.tui.desk.summary import SummaryScreen
from kiosk.tui.widgets.status import StatusBar
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import desk_services, dmp_record, sim_world
from tests.tui.world import (
    WorldApp,
    on_screen,
    press,
    qualified_admission,
    settle,
    shown,
    wait_for,
)

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

CLOSED_NIR = "291074410907739"  # cards/dmp-closed.toml
AUTHORIZED_NIR = "272043306312133"  # cards/dmp-authorized.toml
SIZE = (100, 30)


async def _status(app: KioskApp, pilot: Pilot[None], vitale: str) -> Any:
    admission = await qualified_admission(app, pilot, vitale)
    await app.push_screen(DmpStatusScreen(admission))
    await on_screen(pilot, app, DmpStatusScreen)
    await wait_for(pilot, lambda: admission.stage is not Stage.QUALIFIED, "TD0.2 answered")
    await settle(app, pilot)
    return admission


async def test_a_closed_dmp_reopens_with_f7_then_asks_our_access(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _status(app, pilot, "dmp-closed")
        assert admission.stage is Stage.CLOSED
        assert "ne se rouvre qu'à la demande du patient" in shown(app, "#dmp-answer")
        await press(app, pilot, "f7")
        await wait_for(pilot, lambda: admission.stage is not Stage.CLOSED, "TD1.2 answered")
        await settle(app, pilot)
        assert admission.stage is Stage.NEEDS_AUTHORIZATION
        assert shown(app, "#dmp-answer").startswith("Le DMP est rouvert.")
    assert (await dmp_record(desk_services, CLOSED_NIR))["status"] == "ACTIF"


async def test_the_opposed_patient_is_told_how_to_change_it(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _status(app, pilot, "dmp-opposed")
        assert admission.stage is Stage.OPPOSED
        assert "monespacesante.fr" in shown(app, "#dmp-answer")
        await press(app, pilot, "f7")  # nothing to reopen: the key does nothing
        assert admission.stage is Stage.OPPOSED
        app.screen.query_one("#dmp-next", Button).press()
        await on_screen(pilot, app, SummaryScreen)
        assert "· Le patient s'oppose à la création de son DMP" in shown(app, "#summary-lines")


async def test_closure_needs_the_card_then_closes_with_the_reason(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _status(app, pilot, "dmp-authorized")
        assert admission.stage is Stage.AUTHORIZED
        await press(app, pilot, "f8")
        await on_screen(pilot, app, ClosureScreen)
        app.screen.query_one("#closure-reason", Input).value = "Ne souhaite plus de DMP"
        await press(app, pilot, "f5")
        await wait_for(pilot, lambda: admission.stage is Stage.CLOSED, "TD1.4 answered")
        await settle(app, pilot)
        assert "Le DMP est fermé" in shown(app, "#closure-outcome")
        await press(app, pilot, "enter")  # "Suivant" has the focus
        await on_screen(pilot, app, SummaryScreen)
        assert "· DMP fermé : il ne se rouvre qu'à la demande du patient" in shown(
            app, "#summary-lines"
        )
    record = await dmp_record(desk_services, AUTHORIZED_NIR)
    assert (record["status"], record["closure_reason"]) == ("FERME", "Ne souhaite plus de DMP")


SNAPSHOTS = {"closed": "dmp-closed", "opposed": "dmp-opposed", "closure": "dmp-authorized"}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("screen", list(SNAPSHOTS))
def test_the_dmp_path_screen_snapshot(
    snap_compare: Any, sim_world: Path, screen: str, lang: str
) -> None:
    app = WorldApp(sim_world, lang)

    async def run_before(pilot: Pilot[None]) -> None:
        admission = await qualified_admission(app, pilot, SNAPSHOTS[screen])
        await admission.dmp_status()
        pushed = ClosureScreen(admission) if screen == "closure" else DmpStatusScreen(admission)
        await app.push_screen(pushed)
        await on_screen(pilot, app, type(pushed))
        if screen != "closure":
            await wait_for(pilot, lambda: "DMP" in shown(app, "#dmp-answer"), "answer shown")
        for field in app.screen.query(Input):
            field.cursor_blink = False
        bar = app.screen.query_one(StatusBar)
        if bar.polling is not None:
            await bar.polling.wait()
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
