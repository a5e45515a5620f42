"""The desk's enrolment screens on the real simulated stack: DMP status to the printed receipt.

Each test qualifies an identity through the service (the identity screens have their
own tests), pushes :class:`DmpStatusScreen` and goes on with the keyboard as an
agent would; then it asks the world what happened: the simulated DMP's record
(``GET {dmp_url}/_sim/dmp/{nir}``), the simulated printer's job images (their QR
code decoded), the outbox. The network to the DMP is cut and restored through the
world's network relay, the paper taken out and put back through the printer's
control channel, as ``kiosk sim network|printer`` do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static, Switch

from kiosk.domain.consent import InformationChannel, InformationGiven
from kiosk.domain.ins import OID_INS_NIR_TEST, Ins
from kiosk.services.admission import Admission
from kiosk.services.stages import Stage
from kiosk.sim.network import network_request
from kiosk.sim.printer.control import control as printer_control
from kiosk.sim.world import SimWorld
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.authorization import AuthorizationScreen
from kiosk.tui.desk.consent import ConsentScreen
from kiosk.tui.desk.dmp_status import DmpStatusScreen
from kiosk.tui.desk.information import InformationScreen
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.desk.summary import SummaryScreen
from kiosk.tui.desk.web_account import WebAccountScreen
from kiosk.tui.widgets.status import StatusBar
from kiosk.wiring import Services, open_services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.demo_world import demo_world
from tests.desk import (
    desk_services,
    dmp_record,
    printed_pages,
    qr_texts,
    sim_settings,
    sim_world,
)
from tests.tui.world import (
    WorldApp,
    on_screen,
    press,
    qualified_admission,
    settle,
    shown,
    wait_for,
)

__all__ = ["demo_world", "desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
EARLIER_VISIT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
MOBILE = "+262 692 12 34 56"  # La Réunion: the service normalises it


@pytest.fixture
async def world_services(demo_world: SimWorld) -> AsyncIterator[Services]:
    """The desk's services on the demo's world, whose network to INSi and the DMP can be cut."""
    settings = sim_settings(demo_world.state_dir.parent)
    async with open_services(settings, state_dir=demo_world.state_dir) as opened:
        yield opened


# -- steps --------------------------------------------------------------------


def _facts(services: Services) -> dict[str, Any]:
    return dict(world_facts(services.settings))


def _network(services: Services, op: str) -> None:
    path = Path(str(_facts(services)["network_control"]))
    network_request(path, op, ["dmp"])


def _printer(services: Services, line: str) -> None:
    printer_control(int(_facts(services)["printer"]["control_port"]), line)


async def _click(app: KioskApp, pilot: Pilot[None], selector: str) -> None:
    """Focus the button and press Enter: the keyboard path."""
    app.screen.query_one(selector, Button).focus()
    await pilot.pause()
    await press(app, pilot, "enter")


async def _status_screen(app: KioskApp, pilot: Pilot[None]) -> Admission:
    admission = await qualified_admission(app, pilot)
    await app.push_screen(DmpStatusScreen(admission))
    await on_screen(pilot, app, DmpStatusScreen)
    return admission


async def _to_consent(app: KioskApp, pilot: Pilot[None]) -> None:
    """From a DMP status "none" to the consent screen, brochure handed."""
    assert "pas de DMP" in shown(app, "#dmp-answer")
    await press(app, pilot, "enter")  # Continue has the focus
    await on_screen(pilot, app, InformationScreen)
    assert "monespacesante.fr" in shown(app, "#information-text")
    assert not isinstance(app.screen.focused, Button), "neither answer is pre-selected"
    await press(app, pilot, "f5")  # brochure handed
    await on_screen(pilot, app, ConsentScreen)


async def _set_consent(app: KioskApp, pilot: Pilot[None], *, establishment: bool = True) -> None:
    """The agent toggles creation (and the establishment's access) with Space, then Tab."""
    screen = app.screen
    assert screen.query_one("#consent-creation", Switch).has_focus
    await press(app, pilot, "space", "tab")
    if establishment:
        await press(app, pilot, "space")
    values = {s.id: s.value for s in screen.query(Switch)}
    assert values == {
        "consent-creation": True,
        "consent-establishment_access": establishment,
        "consent-emergency_access": True,  # pre-set to yes: the rule's default
        "consent-regulation_centre_access": True,  # pre-set: the service's default
    }


# -- the flows ------------------------------------------------------------------


async def test_an_online_creation_goes_to_the_web_account_and_the_printed_receipt(
    desk_services: Services,
) -> None:
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _status_screen(app, pilot)
        await _to_consent(app, pilot)
        await _set_consent(app, pilot)
        await press(app, pilot, "f5")
        assert admission.stage is Stage.CREATED
        assert shown(app, "#consent-outcome") == "DMP créé."
        await press(app, pilot, "enter")  # "Compte web" has the focus
        await on_screen(pilot, app, WebAccountScreen)

        mobile = app.screen.query_one("#web-mobile", Input)
        assert mobile.has_focus
        await pilot.press(*MOBILE)
        await press(app, pilot, "enter")
        assert admission.stage is Stage.WEB_ACCOUNT_OPEN
        assert not printed_pages(services), "printed only on request"
        assert app.screen.query_one("#web-print", Button).has_focus
        await press(app, pilot, "enter")
        await wait_for(
            pilot, lambda: len(printed_pages(services)) == 1, "receipt printed", bound_s=40
        )
        assert "Identifiants imprimés" in shown(app, "#web-outcome")
        assert str(app.screen.query_one("#web-print", Button).label) == "Réimprimer"
        assert app.screen.query_one("#web-print", Button).has_focus
        await press(app, pilot, "enter")  # the patient asks again
        await wait_for(
            pilot, lambda: len(printed_pages(services)) == 2, "receipt reprinted", bound_s=40
        )
        on_screen_text = "\n".join(str(s.content) for s in app.screen.query(Static))
        assert "mot de passe provisoire n'est jamais affiché" in on_screen_text

        await _click(app, pilot, "#web-done")
        await on_screen(pilot, app, SummaryScreen)
        lines = shown(app, "#summary-lines")
        for expected in (
            "✓ Identité qualifiée",
            "✓ Patient informé, brochure remise",
            "✓ Création du DMP : oui",
            "✓ Accès de l'établissement : oui",
            "✓ Accès en urgence : oui",
            "✓ Accès du SAMU-Centre 15 : oui",
            "✓ DMP créé",
            "✓ Compte web ouvert (codes par SMS)",
            "✓ Reçu des identifiants imprimé",
        ):
            assert expected in lines, (expected, lines)

        await press(app, pilot, "f5")  # next patient
        assert services.desk.admission is None
        assert not isinstance(app.screen, PatientScreen)

    record = await dmp_record(services, ADULT_NIR)
    assert record["exists"]
    assert record["consent"]["emergency_access"] is True
    assert record["consent"]["regulation_centre_access"] is True
    assert record["web_account"]
    portal = services.settings.site.patient_portal_url
    for page in printed_pages(services):
        assert any(t.startswith(portal) for t in qr_texts(page)), page


async def test_with_the_dmp_cut_the_creation_is_queued_then_synced_when_restored(
    world_services: Services,
) -> None:
    services = world_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await qualified_admission(app, pilot)
        _network(services, "cut")
        await app.push_screen(DmpStatusScreen(admission))
        await on_screen(pilot, app, DmpStatusScreen)
        assert shown(app, "#dmp-answer").startswith("Service injoignable")
        assert admission.stage is Stage.QUALIFIED  # the flow stays where it is
        _network(services, "restore")
        await press(app, pilot, "r")
        assert admission.stage is Stage.NO_DMP

        await _to_consent(app, pilot)
        await _set_consent(app, pilot)
        _network(services, "cut")
        await press(app, pilot, "f5")
        assert admission.stage is Stage.DEFERRED
        outcome = shown(app, "#consent-outcome")
        assert "file d'attente" in outcome
        assert "position 1 dans la file" in outcome
        assert "compte web n'est pas possible hors ligne" in outcome
        assert str(app.screen.query_one("#consent-next", Button).label) == "Récapitulatif"
        await press(app, pilot, "enter")
        await on_screen(pilot, app, SummaryScreen)
        lines = shown(app, "#summary-lines")
        assert "Création du DMP en file d'attente, sera envoyée (position 1" in lines
        assert "· Pas de compte web" in lines

        _network(services, "restore")
        report = await services.sync.run_once()
        assert report, report
        await press(app, pilot, "f5")
        assert services.desk.admission is None
    record = await dmp_record(services, ADULT_NIR)
    assert record["exists"], record
    assert record["consent"]["emergency_access"] is True


async def test_an_existing_dmp_without_our_access_asks_the_patient(
    desk_services: Services,
) -> None:
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        first = await qualified_admission(app, pilot)
        # An earlier visit created the DMP without this establishment's access.
        await first.dmp_status()
        await first.give_information(brochure=False)
        created = await first.consent(
            creation=True,
            establishment_access=False,
            emergency_access=True,
            regulation_centre_access=False,
        )
        assert created is Stage.CREATED
        reader = first.reader
        services.desk.end_admission()
        admission = services.desk.begin_admission(reader)
        await admission.read_card()
        admission.choose(0)
        await admission.search_identity()
        admission.confirm_document()
        await admission.qualify()
        assert (await dmp_record(services, ADULT_NIR))["authorizations"] == {}

        await app.push_screen(DmpStatusScreen(admission))
        await on_screen(pilot, app, DmpStatusScreen)
        assert "n'y a pas accès" in shown(app, "#dmp-answer")
        await press(app, pilot, "enter")
        await on_screen(pilot, app, AuthorizationScreen)
        assert not isinstance(app.screen.focused, Button), "no answer is pre-selected"
        await press(app, pilot, "f5")  # the patient agrees
        await on_screen(pilot, app, WebAccountScreen)
        assert admission.stage is Stage.AUTHORIZED
        await _click(app, pilot, "#web-done")  # no web account asked
        await on_screen(pilot, app, SummaryScreen)
        lines = shown(app, "#summary-lines")
        assert "✓ Accès de l'établissement au DMP accordé par le patient" in lines
        assert "✓ DMP accessible à l'établissement" in lines
        assert "Aucun reçu imprimé" in lines
    authorizations = (await dmp_record(services, ADULT_NIR))["authorizations"]
    assert set(authorizations.values()) == {"VALIDE"}, authorizations


async def test_paper_out_says_so_and_the_receipt_prints_once_refilled(
    desk_services: Services,
) -> None:
    services = desk_services
    app = KioskApp(services, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        admission = await qualified_admission(app, pilot)
        await admission.dmp_status()
        await admission.give_information(brochure=True)
        await admission.consent(
            creation=True,
            establishment_access=True,
            emergency_access=True,
            regulation_centre_access=True,
        )
        await app.push_screen(WebAccountScreen(admission))
        await on_screen(pilot, app, WebAccountScreen)
        app.screen.query_one("#web-email", Input).focus()
        await pilot.press(*"paul.martin@example.org")
        await press(app, pilot, "enter")
        assert admission.stage is Stage.WEB_ACCOUNT_OPEN

        _printer(services, "paper-out")
        await _click(app, pilot, "#web-print")
        outcome = shown(app, "#web-outcome")
        assert outcome.startswith("Cannot print:"), outcome
        assert "The receipt is kept" in outcome
        assert not printed_pages(services)
        assert not admission.printed
        assert str(app.screen.query_one("#web-print", Button).label) == "Print the credentials"
        kept = services.print_queue.pending()
        assert len(kept) == 1, "the failed receipt stays in the session's queue"

        _printer(services, "refill")
        assert app.screen.query_one("#web-print", Button).has_focus  # Enter prints again
        await press(app, pilot, "enter")
        await wait_for(
            pilot, lambda: len(printed_pages(services)) == 1, "printed after refill", bound_s=40
        )
        assert shown(app, "#web-outcome").startswith("Credentials printed")
        assert admission.printed


async def test_a_refused_consent_creates_nothing_and_says_so(desk_services: Services) -> None:
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _status_screen(app, pilot)
        await _to_consent(app, pilot)
        await press(app, pilot, "f5")  # creation left at "no"
        assert admission.stage is Stage.CONSENT_REFUSED
        assert "aucun DMP n'est créé" in shown(app, "#consent-outcome")
        await press(app, pilot, "enter")
        await on_screen(pilot, app, SummaryScreen)
        lines = shown(app, "#summary-lines")
        assert "✗ Création du DMP : non" in lines
        assert "Aucun DMP créé : le patient n'y consent pas" in lines
    assert not (await dmp_record(services, ADULT_NIR))["exists"]


async def _informed_on_the_kiosk(services: Services) -> InformationGiven:
    """What the self-service kiosk recorded at an earlier visit (issue 17 item 4).

    On a fixed day: the snapshots show its date.
    """
    given = InformationGiven(
        brochure=False,
        at=EARLIER_VISIT,
        channel=InformationChannel.KIOSK,
        by="KIOSK-DEMO-0001",
        brochure_version=services.settings.site.brochure_version,
    )
    await services.records.inform(Ins.of(ADULT_NIR, OID_INS_NIR_TEST), given)
    return given


async def test_informed_on_the_kiosk_the_patient_goes_to_consent_with_f7(
    desk_services: Services,
) -> None:
    """Seed 001: information and consent "peuvent être déconnectés dans le temps"."""
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await qualified_admission(app, pilot)
        given = await _informed_on_the_kiosk(services)
        await app.push_screen(DmpStatusScreen(admission))
        await on_screen(pilot, app, DmpStatusScreen)
        await press(app, pilot, "enter")
        await on_screen(pilot, app, InformationScreen)
        told = shown(app, "#information-earlier")
        assert f"{given.at.astimezone():%d/%m/%Y}" in told
        assert "sur la borne libre-service, sans brochure" in told
        await press(app, pilot, "f7")
        await on_screen(pilot, app, ConsentScreen)
        assert admission.stage is Stage.INFORMED


async def test_never_informed_the_f7_key_is_not_offered(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _status_screen(app, pilot)
        await press(app, pilot, "enter")
        await on_screen(pilot, app, InformationScreen)
        assert not app.screen.query_one("#information-earlier").display
        f7 = app.screen.active_bindings.get("f7")
        assert f7 is None or not f7.enabled  # not offered in the key bar
        await press(app, pilot, "f7")
        assert isinstance(app.screen, InformationScreen)
        assert admission.stage is Stage.NO_DMP


async def test_a_minors_consent_asks_her_representative_first(desk_services: Services) -> None:
    """Seed 001: consent given by « la personne ayant l'autorité parentale »."""
    services = desk_services
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await qualified_admission(app, pilot, "family", 1)  # LEA, born 2015
        await app.push_screen(DmpStatusScreen(admission))
        await on_screen(pilot, app, DmpStatusScreen)
        await press(app, pilot, "enter")
        await on_screen(pilot, app, InformationScreen)
        await press(app, pilot, "f5")
        await on_screen(pilot, app, ConsentScreen)
        assert app.screen.query_one("#consent-representative").display
        assert "représentant légal" in shown(app, "#representative-note")
        await _set_consent(app, pilot)
        await press(app, pilot, "f5")  # no name typed: refused, said, nothing sent
        (refusal,) = list(app._notifications)
        assert "REPRESENTATIVE_INVALID" in str(refusal.title)
        assert admission.stage is Stage.INFORMED
        app.screen.query_one("#representative-family", Input).value = "DURAND-TEST"
        app.screen.query_one("#representative-given", Input).value = "SOPHIE"
        await press(app, pilot, "f5")
        assert admission.stage is Stage.CREATED
        assert admission.representative is not None
        assert admission.representative.display_name == "SOPHIE DURAND-TEST"


# -- snapshots ----------------------------------------------------------------


async def _stage_for(screen: str, admission: Admission, services: Services) -> None:
    """Drive the admission (through the service) to where ``screen`` is shown."""
    if screen in ("dmp_status", "authorization"):
        return
    if screen == "consent_minor":
        await admission.dmp_status()
        await admission.give_information(brochure=True)
        return
    if screen == "information_earlier":
        await _informed_on_the_kiosk(services)
    await admission.dmp_status()
    if screen in ("information", "information_earlier"):
        return
    await admission.give_information(brochure=True)
    if screen == "consent":
        return
    await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=False,
    )
    if screen == "summary":
        await admission.open_web_account(mobile=MOBILE)
        await admission.print_credentials()


SCREENS = {
    "dmp_status": DmpStatusScreen,
    "information": InformationScreen,
    "information_earlier": InformationScreen,
    "consent": ConsentScreen,
    "consent_minor": ConsentScreen,
    "authorization": AuthorizationScreen,
    "web_account": WebAccountScreen,
    "summary": SummaryScreen,
}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_the_enrolment_screen_snapshot(
    snap_compare: Any, sim_world: Path, screen: str, lang: str
) -> None:
    app = WorldApp(sim_world, lang)

    async def run_before(pilot: Pilot[None]) -> None:
        vitale, index = ("family", 1) if screen == "consent_minor" else ("adult", 0)
        admission = await qualified_admission(app, pilot, vitale, index)
        await _stage_for(screen, admission, app.services)
        await app.push_screen(SCREENS[screen](admission))
        await on_screen(pilot, app, SCREENS[screen])
        for field in app.screen.query(Input):
            field.cursor_blink = False
        bar = app.screen.query_one(StatusBar)
        if bar.polling is not None:
            await bar.polling.wait()
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
