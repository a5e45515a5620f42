"""The kiosk app: its footer of lights, the welcome screen's cards, errors and languages."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from kiosk.cards.ports import CardInserted, CardKind, CardRemoved, ReaderAdded
from kiosk.errors import Unavailable
from kiosk.locale import msg, text
from kiosk.services.session import SessionState
from kiosk.tui.app import KioskApp
from kiosk.tui.base import KioskScreen
from kiosk.tui.widgets.status import StatusBar
from kiosk.wiring import Services
from kiosk.wiring.probes import ProbeResult
from tests import softhsm as tokens
from tests.desk import desk_services, sim_world
from tests.tui.fakes import AGENT, FakeMonitor, FakeProbe, FakeServices

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
READER = "Virtual PCD 00 00"
CPE = CardInserted(READER, b"\x3b", CardKind.CPS, "cpe")
VITALE = CardInserted("Virtual PCD 00 01", b"\x3b", CardKind.VITALE, "vitale")


def _probes() -> list[FakeProbe]:
    return [
        FakeProbe("insi", ProbeResult(True, "HTTP 200")),
        FakeProbe("dmp", ProbeResult(False, "ConnectError")),
        FakeProbe("outbox", ProbeResult(True, "3")),
        FakeProbe("readers", fails=RuntimeError("broken probe")),
        FakeProbe("printer", ProbeResult(True, "ok")),
    ]


def _shown(app: KioskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def _settle(app: KioskApp, pilot: Pilot[None]) -> None:
    await pilot.pause()  # the screen is mounted and its workers started
    await app.workers.wait_for_complete()
    await pilot.pause()  # their results are rendered


async def test_the_footer_shows_each_probe_up_or_down_with_its_detail() -> None:
    app = KioskApp(FakeServices(probes=_probes()))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert _shown(app, "#probe-insi") == "INSi ok"  # "HTTP 200" is in its tooltip
        assert _shown(app, "#probe-dmp") == "DMP hors service injoignable"
        assert _shown(app, "#probe-outbox") == "File d'envoi ok 3"
        assert _shown(app, "#probe-readers") == "Lecteurs hors service"  # no type name
        assert app.screen.query_one("#probe-insi").has_class("up")
        assert app.screen.query_one("#probe-dmp").has_class("down")
        bar = app.screen.query_one(StatusBar)
        assert bar.checked_at == app.services.clock.now()
        assert _shown(app, "#status-mode") == "Guichet"
        assert _shown(app, "#status-agent") == "Aucun agent connecté"


class _CountedProbe(FakeProbe):
    checks = 0

    async def check(self) -> ProbeResult:
        type(self).checks += 1
        return await super().check()


async def test_a_new_screen_shows_the_lights_at_once_without_asking_the_services_again() -> None:
    _CountedProbe.checks = 0
    probes = [_CountedProbe("insi", ProbeResult(True)), _CountedProbe("dmp", ProbeResult(False))]
    services = FakeServices(probes=probes)
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        first = app.screen
        assert _CountedProbe.checks == 2  # one round for the whole app
        await app.push_screen(KioskScreen())  # any next screen, with its own status bar
        await _settle(app, pilot)
        assert app.screen is not first
        assert _shown(app, "#probe-insi") == "INSi ok"  # not "pending": the app's last round
        assert _shown(app, "#probe-dmp").startswith("DMP hors service")
        assert _CountedProbe.checks == 2  # the new screen asked no service


async def test_a_click_on_a_key_in_the_key_bar_is_that_key() -> None:
    app = KioskApp(FakeServices(probes=_probes()))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert str(app.screen.query_one("#keys", Static).content).split() == ["f2", "FR/EN"]
        await pilot.click("#keys", offset=(5, 0))  # on "FR/EN", the words of f2
        await pilot.pause()
        assert app.lang == "en"
        await pilot.click("#keys", offset=(40, 0))  # past the last key: nothing
        await pilot.pause()
        assert app.lang == "en"


async def test_the_footer_follows_the_session() -> None:
    services = FakeServices(probes=_probes())
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        services.session.log_in()
        await pilot.pause()
        assert _shown(app, "#status-agent") == f"Agent : {AGENT.display_name} · Hôpital d'essai"


async def test_the_welcome_asks_for_the_cpe_and_names_the_card_present() -> None:
    monitor = FakeMonitor([ReaderAdded(READER), CPE])
    app = KioskApp(FakeServices(card_monitor=monitor))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert _shown(app, "#welcome-prompt") == "Insérez votre carte CPE"
        assert _shown(app, "#welcome-card").startswith(f"Carte CPS/CPE présente dans « {READER} »")


async def test_a_vitale_before_login_asks_to_log_in_first() -> None:
    app = KioskApp(FakeServices(card_monitor=FakeMonitor([VITALE])))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert app.services.session.state is SessionState.NO_CARD
        expected = text("tui.welcome.vitale_first", "fr", reader=VITALE.reader)
        assert _shown(app, "#welcome-card") == expected


async def test_a_pulled_card_leaves_the_screen() -> None:
    monitor = FakeMonitor([CPE, CardRemoved(READER)])
    app = KioskApp(FakeServices(card_monitor=monitor))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert app.cards == {}
        assert _shown(app, "#welcome-card") == ""
        assert not app.screen.query_one("#welcome-card").display


async def test_the_language_key_switches_every_text() -> None:
    app = KioskApp(FakeServices(probes=_probes(), card_monitor=FakeMonitor([VITALE])))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert app.lang == "en"
        assert _shown(app, "#welcome-prompt") == "Insert your CPE card"
        assert _shown(app, "#probe-dmp") == "DMP down unreachable"
        assert _shown(app, "#status-mode") == "Desk"
        assert _shown(app, "#welcome-card").startswith("Vitale card in")


async def test_an_error_is_shown_in_the_apps_language_with_its_code() -> None:
    app = KioskApp(FakeServices(), lang="en")
    async with app.run_test(size=SIZE) as pilot:
        error = Unavailable(msg("cards.pcsc.unavailable"), detail="hr=0x8010001d")
        app.show_error(error)
        await pilot.pause()
        (shown,) = list(app._notifications)
        assert shown.message == error.message("en")
        assert shown.title == "Error UNAVAILABLE"
        assert shown.severity == "error"
        assert "hr=" not in shown.message


def test_the_welcome_screen_snapshot(snap_compare: Any) -> None:
    app = KioskApp(FakeServices(probes=_probes(), card_monitor=FakeMonitor([CPE])))

    async def settle(pilot: Pilot[None]) -> None:
        await _settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


async def test_the_footer_sees_the_simulated_world(desk_services: Services) -> None:
    app = KioskApp(desk_services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(StatusBar)
        assert bar.polling is not None  # the card worker never ends: wait for this one only
        await bar.polling.wait()
        await pilot.pause()
        assert bar.lights["insi"].up, bar.lights
        assert bar.lights["dmp"].up, bar.lights
        assert _shown(app, "#probe-outbox") == "File d'envoi ok 0"
        assert _shown(app, "#welcome-prompt") == "Insérez votre carte CPE"


async def test_kiosk_run_leaves_start_up_out_of_the_collector_and_still_collects_a_visit() -> None:
    import gc
    import weakref

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    before = gc.get_freeze_count()
    plain = KioskApp(FakeServices(probes=_probes()))
    async with plain.run_test(size=SIZE) as pilot:
        await _settle(plain, pilot)
    assert gc.get_freeze_count() == before  # tests make hundreds of apps: none frozen
    app = KioskApp(FakeServices(probes=_probes()), freeze_heap=True)  # as kiosk run has it
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _settle(app, pilot)
            assert gc.get_freeze_count() > before  # start-up is out of the full collections
            visit = Cycle()  # made after the first frame, as a patient's objects are
            gone = weakref.ref(visit)
            del visit
            gc.collect()
            assert gone() is None  # still collected
    finally:
        gc.unfreeze()
