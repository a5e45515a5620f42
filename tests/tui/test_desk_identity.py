"""The patient's identity at the desk: the card's beneficiaries, INSi, the Data Matrix, qualifying.

On the real simulated stack (pcscd + virtual cards, SoftHSM2 tokens, INSi over a
socket): the agent logs in, the Vitale card goes in, and the test pushes the
beneficiaries screen on the desk's admission as the home screen will.
"""

from __future__ import annotations

import asyncio
import re
import sys
import types
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.worker import WorkerState

from kiosk.cards.ports import CardKind
from kiosk.domain.datamatrix import build_payload
from kiosk.domain.ins import OID_INS_NIR_TEST, Ins, StrictTraits
from kiosk.errors import InvalidInput
from kiosk.locale import msg, text
from kiosk.scanning.ports import ScanPayload, ScanRejected
from kiosk.sim.scanner import SCANNER_SOCKET, person_payload, scan_request
from kiosk.sim.world import SimWorld
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.beneficiaries import BeneficiariesScreen
from kiosk.tui.desk.identity import IdentityScreen
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.messages import ScanReceived
from kiosk.tui.widgets.status import StatusBar
from kiosk.wiring import Services, open_services
from tests import softhsm as tokens
from tests.demo_world import demo_world
from tests.desk import desk_services, sim_settings, sim_world
from tests.tui.world import WorldApp, card, settle, wait_for, wait_logged_in, with_card

__all__ = ["demo_world", "desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
BROKEN = (
    "broken-6982",
    "broken-6983",
    "broken-6a82",
    "broken-overlength",
    "broken-silent",
    "broken-truncated",
)

# kiosk/sim/data/insi_population.toml
MARTIN = ("180057505612342", "MARTIN-TEST", "PAUL HENRI", date(1980, 5, 23), "M", "75056")
LEROY = ("285036912304579", "LEROY-TEST", "SOPHIE MARIE", date(1985, 3, 12), "F", "69123")


def _payload(person: tuple[str, str, str, date, str, str]) -> bytes:
    matricule, family, given, born, sex, place = person
    traits = StrictTraits.create(family, given, born, sex, place)
    return build_payload(Ins.of(matricule, OID_INS_NIR_TEST), traits).encode()


def _shown(app: KioskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


@pytest.fixture(autouse=True)
def _dmp_screen() -> Iterator[None]:
    """A stand-in DMP screen while kiosk/tui/desk/dmp_status.py is not there (parallel work)."""
    try:
        import kiosk.tui.desk.dmp_status  # noqa: F401
    except ImportError:
        module = types.ModuleType("kiosk.tui.desk.dmp_status")

        class DmpStatusScreen(PatientScreen):
            """Stand-in."""

        module.DmpStatusScreen = DmpStatusScreen  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module
        yield
        del sys.modules[module.__name__]
    else:
        yield


def _dmp_screen_shown(app: KioskApp) -> bool:
    return type(app.screen).__name__ == "DmpStatusScreen"


async def _beneficiaries(app: KioskApp, pilot: Pilot[None], vitale: str) -> None:
    """Log in, insert ``vitale``, and show its beneficiaries (as the home screen will)."""
    services: Services = app.services  # type: ignore[assignment]
    await wait_logged_in(app, pilot)
    reader = await with_card(app, pilot, vitale, CardKind.VITALE)
    if not isinstance(app.screen, BeneficiariesScreen):
        admission = services.desk.admission or services.desk.begin_admission(reader)
        app.push_screen(BeneficiariesScreen(admission))
    await settle(app, pilot)


async def _identity(app: KioskApp, pilot: Pilot[None], vitale: str, down: int = 0) -> None:
    await _beneficiaries(app, pilot, vitale)
    await pilot.press(*["down"] * down, "enter")
    await settle(app, pilot)
    assert isinstance(app.screen, IdentityScreen)


def _rows(app: KioskApp) -> list[list[str]]:
    """The rows as the agent reads them: each cell under its column's title."""
    header = str(app.screen.query_one("#beneficiaries-columns", Static).content)
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
    listed = app.screen.query_one("#beneficiaries-list", OptionList)
    lines = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
    ends = [*starts[1:], None]
    return [[line[a:b].strip() for a, b in zip(starts, ends, strict=True)] for line in lines]


def _no_failed_worker(app: KioskApp) -> None:
    failed = [w for w in app.workers if w.state is WorkerState.ERROR]
    assert not failed, [w.error for w in failed]


async def test_an_adult_whose_card_and_insi_agree_is_qualified_after_the_document_check(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _beneficiaries(app, pilot, "adult")
        assert _rows(app) == [["MARTIN-TEST", "PAUL", "23/05/1980", "1", "Assuré(e)"]]
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert _shown(app, "#identity-message") == "La carte Vitale et INSi concordent."
        assert _shown(app, "#identity-birth_family_name-insi") == "MARTIN-TEST"
        assert _shown(app, "#identity-birth_given_names-insi") == "PAUL HENRI"
        assert _shown(app, "#identity-birth_date-insi") == "23/05/1980"
        assert _shown(app, "#identity-sex-insi") == "M"
        assert _shown(app, "#identity-birth_place-insi") == "75056"
        assert _shown(app, "#identity-ins-insi") == "1 80 05 75 ••• ••• 42"
        assert _shown(app, "#identity-status-insi") == "Identité récupérée"
        shown = [str(w.content) for w in app.screen.query(Static)]
        assert not [line for line in shown if "180057505612342" in line]
        assert not app.screen.query(".differs")

        await pilot.press("q")  # no document checked: stored "récupérée", not qualified
        await settle(app, pilot)
        assert isinstance(app.screen, IdentityScreen)
        refused = _shown(app, "#identity-message")
        assert refused.startswith("Identité non qualifiée : L'identité est identité récupérée")
        assert "ne peut pas aller plus loin" in refused

        await pilot.press("d")
        await pilot.pause()
        assert app.screen.query_one("#identity-document", Checkbox).value
        await pilot.press("q")
        await settle(app, pilot)
        assert _dmp_screen_shown(app)
        _no_failed_worker(app)


async def test_unticking_the_document_takes_its_check_back(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "adult")
        await pilot.press("d", "d")
        await pilot.pause()
        assert not app.screen.query_one("#identity-document", Checkbox).value
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert _shown(app, "#identity-message").startswith("Identité non qualifiée")


async def test_a_family_card_lists_each_beneficiary_and_shows_the_children_as_such(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _beneficiaries(app, pilot, "family")
        assert _rows(app) == [
            ["DURAND-TEST", "SOPHIE", "12/03/1985", "1", "Assuré(e)"],
            ["DURAND-TEST", "LEA", "12/06/2015", "1", "Enfant"],
            ["DURAND-TEST", "LOUIS", "12/06/2015", "2", "Enfant"],
        ]
        await pilot.press("f2")
        await pilot.pause()
        assert [row[4] for row in _rows(app)] == ["Insured", "Child", "Child"]
        await pilot.press("down", "down", "enter")  # the twin of rank 2
        await settle(app, pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert _shown(app, "#identity-birth_given_names-insi") == "LOUIS"
        assert _shown(app, "#identity-sex-insi") == "M"
        assert _shown(app, "#identity-message") == "The Vitale card and INSi agree."


async def test_a_card_that_differs_from_insi_names_the_trait_and_needs_the_document(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "family")  # the holder: usage name on the card
        assert _shown(app, "#identity-birth_family_name-card") == "DURAND-TEST"
        assert _shown(app, "#identity-birth_family_name-insi") == "LEROY-TEST"
        differing = [w.id for w in app.screen.query(".differs")]
        assert differing == ["identity-row-birth_family_name"]
        why = text("services.identity.card_differences", "fr")
        assert _shown(app, "#identity-differences") == f"≠ Nom de naissance : {why}"
        assert "diffèrent" in _shown(app, "#identity-message")

        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, IdentityScreen)
        refused = _shown(app, "#identity-message")
        assert refused.startswith("Identité non qualifiée : La carte Vitale et INSi diffèrent")
        assert why in refused

        await pilot.press("d", "q")
        await settle(app, pilot)
        assert _dmp_screen_shown(app)


async def _fill(app: KioskApp, pilot: Pilot[None], **values: str) -> None:
    for name, value in values.items():
        app.screen.query_one(f"#identity-input-{name}", Input).value = value
    app.screen.query_one("#identity-input-birth_place", Input).focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def test_several_identities_are_never_picked_and_the_search_is_refined(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "adult")
        await pilot.press("r")  # the homonyms GARNIER-TEST: only the birth place separates
        await pilot.pause()
        assert app.screen.query_one("#identity-refine").display
        assert app.screen.query_one("#identity-input-family_name", Input).value == "MARTIN-TEST"
        garnier = {"family_name": "GARNIER-TEST", "given_names": "MARIE", "sex": "F"}
        await _fill(app, pilot, **garnier, birth_date="01/01/1990", birth_place="")
        assert _shown(app, "#identity-message") == text("tui.identity.several", "fr")
        assert app.screen.query_one("#identity-refine").display
        assert not app.screen.query_one("#identity-table").display
        assert not app.screen.query_one("#identity-actions").display
        screen = app.screen
        assert isinstance(screen, IdentityScreen)
        screen.action_qualify()  # the key itself types into the form
        await settle(app, pilot)
        assert isinstance(app.screen, IdentityScreen)  # nothing to qualify

        await _fill(app, pilot, birth_place="13055")
        assert not app.screen.query_one("#identity-refine").display
        assert _shown(app, "#identity-birth_place-insi") == "13055"
        assert _shown(app, "#identity-birth_family_name-insi") == "GARNIER-TEST"
        differing = {w.id for w in app.screen.query(".differs")}
        assert "identity-row-birth_family_name" in differing  # not the card's person


async def test_no_identity_found_says_why_and_what_to_do(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "adult")
        await pilot.press("r")
        await _fill(app, pilot, sex="M", given_names="PAUL JEAN", birth_date="23/05/1981")
        shown = _shown(app, "#identity-message")
        assert shown.startswith("Aucune identité trouvée dans INSi (prénoms essayés : PAUL, JEAN)")
        assert "pièce d'identité" in shown
        assert app.screen.query_one("#identity-refine").display

        await _fill(app, pilot, birth_date="23/13/1980")
        assert _shown(app, "#identity-refine-title") == text("tui.identity.refine.bad_date", "fr")


@pytest.mark.parametrize("broken", BROKEN)
async def test_a_broken_card_says_what_to_do_and_reads_again(
    desk_services: Services, broken: str
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _beneficiaries(app, pilot, broken)
        assert isinstance(app.screen, BeneficiariesScreen)
        message = app.screen.query_one("#beneficiaries-message", Static)
        assert str(message.content).startswith("Carte Vitale illisible : ")
        assert message.has_class("error")
        assert "appuyez sur R pour la relire" in _shown(app, "#beneficiaries-help")
        assert not app.screen.query_one("#beneficiaries-list").display
        await pilot.press("r")
        await settle(app, pilot)
        assert str(message.content).startswith("Carte Vitale illisible : ")
        assert isinstance(app.screen, BeneficiariesScreen)
        _no_failed_worker(app)


async def test_a_data_matrix_is_held_against_insi_and_a_bad_scan_changes_nothing(
    desk_services: Services,
) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "adult")
        assert _shown(app, "#identity-datamatrix") == text("tui.identity.datamatrix.none", "fr")

        app.screen.post_message(ScanReceived(ScanPayload(_payload(MARTIN), "test")))
        await pilot.pause()
        assert _shown(app, "#identity-datamatrix") == "Data Matrix conforme à l'identité INSi."

        app.screen.post_message(ScanReceived(ScanPayload(b"IS01garbled", "test")))
        await pilot.pause()
        shown = _shown(app, "#identity-datamatrix")
        assert shown.startswith("Data Matrix conforme à l'identité INSi.\nScan refusé, rien")

        error = app.screen.query_one("#identity-datamatrix")
        app.screen.post_message(ScanReceived(ScanRejected(_rejected(), "test")))
        await pilot.pause()
        assert error.has_class("error")

        app.screen.post_message(ScanReceived(ScanPayload(_payload(LEROY), "test")))
        await pilot.pause()
        assert _shown(app, "#identity-datamatrix") == (
            "Data Matrix non conforme, non pris en compte : INS, Nom de naissance, "
            "Prénoms de naissance, Date de naissance, Sexe, Lieu de naissance."
        )
        await pilot.press("f2")
        await pilot.pause()
        assert _shown(app, "#identity-datamatrix").startswith("Data Matrix does not match")


def _rejected() -> InvalidInput:
    return InvalidInput(msg("domain.datamatrix.check_header"), detail="empty")


async def test_pulling_the_vitale_card_drops_the_identity_screen(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "adult")
        card(desk_services, "pull", "adult")
        await wait_for(pilot, lambda: not isinstance(app.screen, PatientScreen), "screens popped")
        assert desk_services.desk.admission is None


@pytest.fixture
async def scanner_services(demo_world: SimWorld) -> AsyncIterator[Services]:
    """The services on the demo's world, whose scanner is the world's."""
    settings = sim_settings(demo_world.state_dir.parent)
    async with open_services(settings, state_dir=demo_world.state_dir) as opened:
        yield opened


async def test_a_scan_through_the_worlds_scanner_reaches_the_identity_screen(
    demo_world: SimWorld, scanner_services: Services
) -> None:
    app = KioskApp(scanner_services)
    async with app.run_test(size=SIZE) as pilot:
        await _identity(app, pilot, "adult")
        label = person_payload("paul-martin").encode()
        socket = demo_world.state_dir / SCANNER_SOCKET
        listeners = await asyncio.to_thread(scan_request, socket, label)
        assert listeners >= 1

        def conforme() -> bool:
            return _shown(app, "#identity-datamatrix") == text("tui.identity.datamatrix.ok", "fr")

        await wait_for(pilot, conforme, "the scan reached the screen")


# -- snapshots ----------------------------------------------------------------


async def _snapshot_ready(app: KioskApp, pilot: Pilot[None]) -> None:
    await settle(app, pilot)
    bar = app.screen.query_one(StatusBar)
    if bar.polling is not None:
        await bar.polling.wait()
    await pilot.pause()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_beneficiaries_screen_snapshot(snap_compare: Any, sim_world: Path, lang: str) -> None:
    app = WorldApp(sim_world, lang)

    async def run_before(pilot: Pilot[None]) -> None:
        await _beneficiaries(app, pilot, "family")
        await pilot.press("down")
        await _snapshot_ready(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_identity_screen_snapshot(snap_compare: Any, sim_world: Path, lang: str) -> None:
    app = WorldApp(sim_world, lang)

    async def run_before(pilot: Pilot[None]) -> None:
        await _identity(app, pilot, "family")  # DURAND-TEST on the card, LEROY-TEST in INSi
        await _snapshot_ready(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
