"""One whole admission at the desk with no human pauses: CPE insert to the receipt printed.

Issue 16's target: ≤ 2 s. Through the real TUI (:func:`tui_flow`, in ``run_test``):
key events on the screens of ``kiosk/tui/desk`` as an agent would type them, each
posted as soon as the screen can take it (the wait is the app's, by its own refresh,
never a fixed sleep; not ``Pilot.press``, see :func:`type_keys`): the CPE, its PIN on
the PIN screen, the adult's Vitale, Enter on the beneficiary, D (document checked)
and Q (qualify), Enter on the DMP answer, F5 (the information given), Tab and Space
on the two switches that start at "no" (creation, this establishment's access), F5
(consent) and Enter, the mobile number and Enter (web account), Enter (print), until
the simulated printer's jobs directory holds the receipt. Each step's time is kept
(``step_*_ms``, from the step before).

The DMP simulator and the local records remember a patient, so each round runs on a
fresh world (same home, tokens and PKI kept, as ``tests.desk`` does): every round is
the same first admission ("no DMP yet"). :func:`service_flow` makes the same calls
through ``Desk`` and ``Admission`` (``tests/services/test_desk.py``), for when a
screen is not there: the result says which (``through``).
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.tui_world import World, card_desk, figures

__all__ = [
    "FLOW_TARGET_MS",
    "MOBILE",
    "Steps",
    "flow_round",
    "jobs_count",
    "summary",
    "type_keys",
    "until",
]

FLOW_TARGET_MS = 2000.0
MOBILE = "+262692123456"  # tests/services/test_desk.py's fictitious patient's mobile
SIZE = (100, 30)
BOUND_S = 20.0


class Steps:
    """Named moments of one round, in order (``perf_counter``)."""

    def __init__(self) -> None:
        self.at: list[tuple[str, float]] = [("start", time.perf_counter())]

    def mark(self, name: str) -> None:
        self.at.append((name, time.perf_counter()))

    def figures(self) -> dict[str, float]:
        out = {"flow_ms": (self.at[-1][1] - self.at[0][1]) * 1e3}
        for (_, before), (name, now) in zip(self.at, self.at[1:], strict=False):
            out[f"step_{name}_ms"] = (now - before) * 1e3
        return out


async def type_keys(app: Any, *keys: str) -> None:
    """Post ``keys`` to the app as a terminal's input reaches it: one after the other, no wait.

    What ``Pilot.press`` does, less its wait for the process to look idle after each
    key (up to 1 s each: a ticking LoadingIndicator or the PC/SC threads keep it
    busy), which would time Pilot, not the desk.
    """
    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        char: str | None
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app.post_message(event)
    await asyncio.sleep(0)


async def until(condition: Callable[[], object], what: str, bound_s: float = BOUND_S) -> None:
    """Let the app run on its own until ``condition()`` holds (2 ms looks, no forced frame)."""
    deadline = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {bound_s:.0f} s for {what}")
        await asyncio.sleep(0.002)


def jobs_count(jobs_dir: Path) -> int:
    return sum(1 for p in jobs_dir.glob("job-*.bin"))


async def tui_flow(app: Any, pilot: Any, card: Callable[[str, str], object], jobs: Path) -> Steps:
    """The admission typed on the real screens; the steps' times."""
    try:
        return await _typed(app, pilot, card, jobs)
    except TimeoutError as exc:
        focus = app.focused.id if app.focused is not None else None
        where = f"{type(app.screen).__name__}, focus on {focus}"
        raise TimeoutError(f"{exc} (on {where}; stage {_stage(app)})") from None


_BUSY = frozenset({"PENDING", "RUNNING"})


def _stage(app: Any) -> str:
    admission = app.services.desk.admission
    return "no admission" if admission is None else f"{admission.stage}"


async def _typed(app: Any, pilot: Any, card: Callable[[str, str], object], jobs: Path) -> Steps:
    from kiosk.tui.desk.beneficiaries import BeneficiariesScreen
    from kiosk.tui.desk.consent import ConsentScreen
    from kiosk.tui.desk.dmp_status import DmpStatusScreen
    from kiosk.tui.desk.home import DeskHomeScreen
    from kiosk.tui.desk.identity import IdentityScreen
    from kiosk.tui.desk.information import InformationScreen
    from kiosk.tui.desk.pin import PinScreen
    from kiosk.tui.desk.web_account import WebAccountScreen

    def on(kind: type) -> bool:
        return isinstance(app.screen, kind)

    def widget(selector: str) -> Any:
        found = app.screen.query(selector)  # None while the screen is still composing
        return found.first() if found else None

    def focused(selector: str) -> bool:
        found = widget(selector)
        return found is not None and found.has_focus

    def settled() -> bool:
        """The screen has mounted and its service call has returned."""
        screen = app.screen
        busy = [w for w in app.workers if w.node is screen and w.state.name in _BUSY]
        return bool(screen.is_mounted) and not busy

    def ready(selector: str) -> bool:
        """Settled, shown, enabled and focused: what the agent's next key goes to.

        A screen is current before it has mounted, and its first focusable widget has
        the focus then, even one its mount hides (the DMP status's "next" before the
        answer): the focus alone is not enough.
        """
        found = widget(selector)
        return (
            settled()
            and found is not None
            and found.has_focus
            and found.display
            and not found.disabled
            and all(node.display for node in found.ancestors_with_self if node is not app)
        )

    async def tab_to(selector: str) -> None:
        # the screen's own first focus (AUTO_FOCUS) lands after its mount: a Tab sent
        # before it would move the focus once more than this loop counts
        await until(lambda: settled() and app.focused is not None, "the screen's first focus")
        for _ in range(12):  # Tab, as the agent would, one focus move at a time
            if ready(selector):
                return
            before = app.focused
            await type_keys(app, "tab")
            await until(lambda b=before: app.focused is not b, "the focus to move")
        raise TimeoutError(f"Tab never reached {selector}")

    printed_before = jobs_count(jobs)
    steps = Steps()
    card("insert", "cpe-agent")
    await until(lambda: on(PinScreen), "the PIN screen")
    steps.mark("cpe_to_pin_screen")
    await type_keys(app, *"1234", "enter")  # kiosk/sim/data/professionals.toml: the agent's PIN
    await until(lambda: on(DeskHomeScreen), "the logged-in home")
    steps.mark("pin_to_home")
    card("insert", "adult")
    await until(
        lambda: (
            on(BeneficiariesScreen)
            and getattr(widget("#beneficiaries-list"), "option_count", 0) > 0
            and focused("#beneficiaries-list")
        ),
        "the beneficiaries",
    )
    steps.mark("vitale_to_beneficiaries")
    await type_keys(app, "enter")
    await until(lambda: on(IdentityScreen) and ready("#identity-document"), "INSi's identity")
    steps.mark("insi_identity")
    await type_keys(app, "d")
    await until(lambda: getattr(widget("#identity-document"), "value", False), "the tick")
    await type_keys(app, "q")
    await until(lambda: on(DmpStatusScreen) and ready("#dmp-next"), "the DMP status")
    steps.mark("qualify_and_dmp_status")
    await type_keys(app, "enter")
    await until(
        lambda: on(InformationScreen) and getattr(widget("#information-given"), "display", 0),
        "the information screen",
    )
    await type_keys(app, "f5")
    await until(
        lambda: on(ConsentScreen) and getattr(widget("#consent-submit"), "display", 0),
        "the consent screen",
    )
    steps.mark("information")
    for choice in ("#consent-creation", "#consent-establishment_access"):  # both start at "no"
        await tab_to(choice)
        await type_keys(app, "space")
        await until(lambda c=choice: getattr(widget(c), "value", False), f"{choice} on")
    await type_keys(app, "f5")
    await until(lambda: ready("#consent-next"), "the DMP created")
    steps.mark("consent_and_creation")
    await type_keys(app, "enter")
    await until(lambda: on(WebAccountScreen) and ready("#web-mobile"), "the web account")
    await type_keys(app, *MOBILE, "enter")
    await until(lambda: ready("#web-print"), "the web account opened")
    steps.mark("web_account")
    await type_keys(app, "enter")
    await until(lambda: jobs_count(jobs) > printed_before, "the receipt in the printer's jobs", 30)
    steps.mark("print")
    return steps


async def service_flow(services: Any, card: Callable[[str, str], object], jobs: Path) -> Steps:
    """The same admission through the desk service (no screen); the steps' times."""
    from kiosk.cards.ports import CardInserted, CardKind

    printed_before = jobs_count(jobs)
    events = services.card_monitor.events()

    async def inserted(kind: CardKind) -> CardInserted:
        async with asyncio.timeout(BOUND_S):
            async for event in events:
                await services.desk.card_event(event)
                if isinstance(event, CardInserted) and event.kind is kind:
                    return event
        raise TimeoutError(kind)

    steps = Steps()
    card("insert", "cpe-agent")
    await inserted(CardKind.CPS)
    steps.mark("cpe_to_pin_screen")
    await services.desk.login("1234")
    steps.mark("pin_to_home")
    card("insert", "adult")
    vitale = await inserted(CardKind.VITALE)
    admission = services.desk.begin_admission(vitale.reader)
    await admission.read_card()
    steps.mark("vitale_to_beneficiaries")
    admission.choose(0)
    await admission.search_identity()
    steps.mark("insi_identity")
    admission.confirm_document()
    await admission.qualify()
    await admission.dmp_status()
    steps.mark("qualify_and_dmp_status")
    await admission.give_information(brochure=True)
    steps.mark("information")
    await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    steps.mark("consent_and_creation")
    await admission.open_web_account(mobile=MOBILE)
    steps.mark("web_account")
    await admission.print_credentials()
    await until(lambda: jobs_count(jobs) > printed_before, "the receipt in the printer's jobs", 30)
    steps.mark("print")
    return steps


async def flow_round(world: World, through: str) -> dict[str, float]:
    """One admission on ``world``, through the TUI or the service; its figures."""
    from kiosk.config import load_settings
    from kiosk.tui.app import KioskApp
    from kiosk.wiring import open_services
    from kiosk.wiring.world import world_facts

    settings = load_settings(world.config)
    printer = world_facts(settings)["printer"]
    assert isinstance(printer, dict)
    jobs = Path(str(printer["jobs_dir"]))
    card = card_desk(world)

    async with open_services(settings) as services:
        if through == "service":
            steps = await service_flow(services, card, jobs)
        else:
            app = KioskApp(services, freeze_heap=True)  # as kiosk run has it
            async with app.run_test(size=SIZE) as pilot:
                await asyncio.sleep(0.3)  # the app's first frames and the footer's first probes
                steps = await tui_flow(app, pilot, card, jobs)
        card("pull", "adult")
        card("pull", "cpe-agent")
    return steps.figures()


def summary(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """Min/median/p95/max of the whole flow and of each step."""
    out: dict[str, Any] = {}
    for key in rounds[0]:
        out.update(figures(key, [r[key] for r in rounds]))
    out["flow_within_target"] = out["flow_ms_p95"] <= FLOW_TARGET_MS
    return out
