"""The whole desk flow through the app, by keyboard alone, on the real simulated stack.

The agent's CPE goes into the world's reader, the PIN is typed (a wrong one first),
the patient's Vitale card follows, and every screen is driven with its keys until
the receipt comes out of the simulated printer. Then the world is asked what
happened: the DMP with its consent, the receipt's QR code, the audit chain. The
wipe tests search the app's object graph for the patient after the card is pulled
and after the session ends.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardKind
from kiosk.services.session import SessionState
from kiosk.services.stages import Stage
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.beneficiaries import BeneficiariesScreen
from kiosk.tui.desk.consent import ConsentScreen
from kiosk.tui.desk.dmp_status import DmpStatusScreen
from kiosk.tui.desk.home import DeskHomeScreen
from kiosk.tui.desk.identity import IdentityScreen
from kiosk.tui.desk.information import InformationScreen
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.desk.pin import PinScreen
from kiosk.tui.desk.summary import SummaryScreen
from kiosk.tui.desk.web_account import WebAccountScreen
from kiosk.tui.desk.welcome import WelcomeScreen
from kiosk.wiring import Services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.desk import desk_services, printed_pages, qr_texts, sim_world
from tests.tui.world import AGENT_PIN, card, gone, press, settle, wait_for, with_card

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
PERSON = ("MARTIN-TEST", "PAUL HENRI", ADULT_NIR, "19800523", "23/05/1980")
"""What must not outlive the patient's admission: names, NIR, birth date (both forms)."""


async def _on(app: KioskApp, pilot: Pilot[None], screen: type[Any]) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, screen), f"{screen.__name__} shown")
    await settle(app, pilot)


async def _keys(app: KioskApp, pilot: Pilot[None], *keys: str) -> None:
    """One key at a time, each after the last one's work: a loaded machine loses none."""
    for key in keys:
        await press(app, pilot, key)


async def _gone(app: KioskApp, pilot: Pilot[None]) -> None:
    await gone(app, pilot, PERSON)


async def _log_in_by_keys(app: KioskApp, pilot: Pilot[None]) -> None:
    await with_card(app, pilot, "cpe-agent", CardKind.CPS)
    await _on(app, pilot, PinScreen)
    await _keys(app, pilot, *"0000", "enter")  # a wrong PIN first: the card counts it
    assert isinstance(app.screen, PinScreen)
    await _keys(app, pilot, *AGENT_PIN, "enter")
    await _on(app, pilot, DeskHomeScreen)


async def _to_identity(app: KioskApp, pilot: Pilot[None]) -> None:
    await with_card(app, pilot, "adult", CardKind.VITALE)
    await _on(app, pilot, BeneficiariesScreen)
    await _keys(app, pilot, "enter")
    await _on(app, pilot, IdentityScreen)


async def test_an_agent_enrols_a_patient_by_keyboard_from_cpe_to_printed_receipt(
    desk_services: Services,
) -> None:
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in_by_keys(app, pilot)
        assert services.session.state is SessionState.LOGGED_IN
        await _to_identity(app, pilot)
        await _keys(app, pilot, "d", "q")  # document checked, then qualify
        await _on(app, pilot, DmpStatusScreen)
        await _keys(app, pilot, "enter")  # no DMP: continue
        await _on(app, pilot, InformationScreen)
        await _keys(app, pilot, "f5")  # informed, brochure handed
        await _on(app, pilot, ConsentScreen)
        await _keys(app, pilot, "space", "tab", "space", "f5")  # creation, our access; record
        admission = services.desk.admission
        assert admission is not None
        assert admission.stage is Stage.CREATED
        await _keys(app, pilot, "enter")  # to the web account
        await _on(app, pilot, WebAccountScreen)
        await pilot.press(*"06 12 34 56 78")
        await _keys(app, pilot, "enter")  # open the account
        assert admission.stage is Stage.WEB_ACCOUNT_OPEN
        assert not printed_pages(services), "credentials are printed only on request"
        await _keys(app, pilot, "enter")  # print, on the patient's request
        await wait_for(pilot, lambda: len(printed_pages(services)) == 1, "receipt printed", 40)
        assert qr_texts(printed_pages(services)[0]) == [services.settings.site.patient_portal_url]

        app.screen.query_one("#web-done").focus()
        await _keys(app, pilot, "enter")
        await _on(app, pilot, SummaryScreen)
        await _keys(app, pilot, "f5")  # next patient
        await _on(app, pilot, DeskHomeScreen)
        assert services.desk.admission is None
        await _keys(app, pilot, "f7")  # the patient is back for their credentials
        await wait_for(pilot, lambda: len(printed_pages(services)) == 2, "receipt reprinted", 40)

        card(services, "pull", "adult")
        card(services, "pull", "cpe-agent")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen), "session over")
        await settle(app, pilot)
        assert services.session.state is SessionState.ENDED
        await _gone(app, pilot)

    dmp_url = str(world_facts(services.settings)["dmp_url"]).rstrip("/")
    async with httpx.AsyncClient() as http:
        record = (await http.get(f"{dmp_url}/_sim/dmp/{ADULT_NIR}")).json()
    assert record["exists"]
    assert record["consent"]["emergency_access"] is True
    assert record["web_account"]
    await services.outbox.chain_owed()
    report = await AuditLog(services.outbox.path).verify()
    assert report.ok, report
    lines = "\n".join(await AuditLog(services.outbox.path).export_lines())
    assert lines.count('"session.login"') == 1
    for kind in ("identity.verified", "consent.given", "dmp.created", "receipt.printed"):
        assert f'"{kind}"' in lines, kind
    assert ADULT_NIR not in lines


PATH: list[tuple[str, tuple[str, ...], type[Any]]] = [
    ("beneficiaries", ("enter",), IdentityScreen),
    ("identity", ("d", "q"), DmpStatusScreen),
    ("dmp", ("enter",), InformationScreen),
    ("information", ("f5",), ConsentScreen),
    ("consent", ("space", "tab", "space", "f5", "enter"), WebAccountScreen),
    ("web_account", (), WebAccountScreen),
]
"""Each step, the keys that leave it, and the screen they lead to."""


@pytest.mark.parametrize("step", [name for name, _, _ in PATH])
async def test_pulling_the_vitale_card_at_any_step_clears_the_patient_at_once(
    desk_services: Services, step: str
) -> None:
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in_by_keys(app, pilot)
        await with_card(app, pilot, "adult", CardKind.VITALE)
        await _on(app, pilot, BeneficiariesScreen)
        for name, keys, screen in PATH:
            if name == step:
                break
            await _keys(app, pilot, *keys)
            await _on(app, pilot, screen)

        card(services, "pull", "adult")
        await wait_for(pilot, lambda: services.desk.admission is None, "admission wiped")
        await _on(app, pilot, DeskHomeScreen)
        assert not any(isinstance(s, PatientScreen) for s in app.screen_stack)
        assert services.session.state is SessionState.LOGGED_IN  # the agent stays
        kept = services.desk.session_patients()
        if step == "web_account":  # the DMP was created: kept for a reopening (F6)...
            assert [p.name for p in kept] == ["PAUL MARTIN-TEST"]
            shown = [str(w.content) for s in app.screen_stack for w in s.query(Static)]
            assert not [t for t in shown if "MARTIN" in t]  # ...in the desk only, not on screen
            await services.desk.logout()  # and wiped with the session
            await wait_for(pilot, lambda: not services.desk.session_patients(), "kept wiped")
        else:  # nothing recorded yet: nothing to come back to
            assert kept == []
        await _gone(app, pilot)
