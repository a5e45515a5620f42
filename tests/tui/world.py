"""Steps the desk TUI tests share on the real simulated world: cards, login, an admission.

The app is the card monitor's only consumer, so a test inserts a card through the
world's card desk (as ``kiosk sim card insert`` does) and waits, with a bound, for
the app to have routed it; it never reads the monitor itself.
"""

from __future__ import annotations

import asyncio
import gc
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Static

from kiosk.cards.ports import CardKind
from kiosk.clock import FrozenClock
from kiosk.services.admission import Admission
from kiosk.services.session import SessionState
from kiosk.sim.cards.desk import control_request
from kiosk.sim.visits import seed_earlier_visits
from kiosk.tui import app as app_module
from kiosk.tui.app import KioskApp
from kiosk.wiring import Services, open_services
from kiosk.wiring.world import world_facts
from tests.desk import sim_settings

__all__ = [
    "AGENT_PIN",
    "WATCHERS",
    "WorldApp",
    "card",
    "gone",
    "leaks",
    "qualified_admission",
    "settle",
    "wait_for",
    "wait_logged_in",
    "with_card",
]

AGENT_PIN = "1234"  # kiosk/sim/data/professionals.toml: the fixture agent's test PIN


def card(services: Services, op: str, name: str) -> dict[str, Any]:
    """``insert`` or ``pull`` fixture card ``name`` through the world's card desk."""
    path = world_facts(services.settings).get("cards_control")
    reply = control_request(Path(str(path)), {"op": op, "card": name})
    assert reply.get("ok"), reply
    return reply


WATCHERS = frozenset({"cards", "scanner"})
"""The app's workers that run as long as the app (they never complete)."""


async def settle(app: KioskApp, pilot: Pilot[None]) -> None:
    """Let the screen mount, its workers finish, and their results render.

    Every worker but the app's watchers, which end only with the app.
    """
    await pilot.pause()
    busy = [w for w in app.workers if w.group not in WATCHERS]
    if busy:  # an empty list would mean "every worker" to Textual
        await app.workers.wait_for_complete(busy)
    await pilot.pause()


async def wait_for(pilot: Pilot[None], condition: Any, what: str, bound_s: float = 20) -> None:
    """Pause until ``condition()`` holds (a card reaching the app crosses processes)."""
    async with asyncio.timeout(bound_s):
        while not condition():
            await pilot.pause(0.05)
    assert condition(), what


def shown(app: KioskApp, selector: str) -> str:
    """The text the current screen shows in the ``Static`` at ``selector``."""
    return str(app.screen.query_one(selector, Static).content)


async def on_screen(pilot: Pilot[None], app: KioskApp, screen: type[Any]) -> None:
    """Wait until ``screen`` is the one shown, mounted and settled."""
    await wait_for(pilot, lambda: isinstance(app.screen, screen), f"{screen.__name__} shown")
    await settle(app, pilot)


async def press(app: KioskApp, pilot: Pilot[None], *keys: str) -> None:
    """Press as a person would: not while a button still shows its last press.

    Textual ignores Enter on a button during its 0.2 s "pressed" effect (a double
    press prints once); a fast print ends inside it, and the next Enter was lost.
    """
    focused = app.focused
    if isinstance(focused, Button):
        await wait_for(pilot, lambda: not focused.has_class("-active"), "button released")
    await pilot.press(*keys)
    await settle(app, pilot)


async def with_card(app: KioskApp, pilot: Pilot[None], name: str, kind: CardKind) -> str:
    """Insert ``name`` and wait until the app has heard of it; returns its reader."""
    card(app.services, "insert", name)  # type: ignore[arg-type]

    def arrived() -> bool:
        return any(c.kind is kind for c in app.cards.values())

    await wait_for(pilot, arrived, f"{name} reached the app")
    await settle(app, pilot)
    return next(r for r, c in app.cards.items() if c.kind is kind)


async def wait_logged_in(app: KioskApp, pilot: Pilot[None]) -> None:
    """Insert the agent's CPE and log in through the service (the PIN screen has its tests)."""
    services: Services = app.services  # type: ignore[assignment]
    await with_card(app, pilot, "cpe-agent", CardKind.CPS)
    await wait_for(pilot, lambda: services.session.state is SessionState.CARD_PRESENT, "CPE routed")
    await services.desk.login(AGENT_PIN)
    await settle(app, pilot)


async def qualified_admission(
    app: KioskApp, pilot: Pilot[None], vitale: str = "adult", index: int = 0
) -> Admission:
    """Log in, insert ``vitale`` and qualify beneficiary ``index`` through the service."""
    services: Services = app.services  # type: ignore[assignment]
    await wait_logged_in(app, pilot)
    reader = await with_card(app, pilot, vitale, CardKind.VITALE)
    admission = services.desk.admission or services.desk.begin_admission(reader)
    await admission.read_card()
    admission.choose(index)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    return admission


class WorldApp(KioskApp):
    """The app on services opened in its own event loop (snap_compare runs one of its own)."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # not relative to tests/

    def __init__(self, world: Path, lang: str, mode: str = "desk") -> None:
        super().__init__(None, lang=lang, mode=mode)  # type: ignore[arg-type]  # opened in run_async
        self._world = world

    async def run_async(self, *args: Any, **kwargs: Any) -> Any:
        # Frozen near now: INSi checks the assertion's validity window on its own clock.
        clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        async with open_services(sim_settings(self._world), clock=clock) as services:
            self.services = services
            if self.kiosk_mode == "self":  # as kiosk demo --mode self starts
                await seed_earlier_visits(services.records, clock.now())
            return await super().run_async(*args, **kwargs)


_CODE = (
    type,
    types.FunctionType,
    types.ModuleType,
    types.FrameType,
    types.CoroutineType,
    asyncio.Task,
)
"""Not followed: through a function's globals every module, and the test's own frame, are
reachable; the search is of the app's objects, not of the process."""


def _reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` (the app: its screens, widgets, services)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _CODE):
            continue
        seen.add(id(obj))
        yield obj
        todo.extend(gc.get_referents(obj))


def _path_to(root: object, needle: str) -> list[str]:
    """Debug aid: the chain of types from ``root`` to a string holding ``needle``."""
    seen: set[int] = set()
    todo: list[tuple[object, list[str]]] = [(root, [])]
    while todo:
        obj, trail = todo.pop(0)
        if id(obj) in seen or isinstance(obj, _CODE):
            continue
        seen.add(id(obj))
        if isinstance(obj, str) and needle in obj:
            return trail
        for ref in gc.get_referents(obj):
            todo.append((ref, [*trail, type(obj).__name__]))
    return []


def leaks(app: KioskApp, person: tuple[str, ...]) -> set[str]:
    """Which of ``person``'s traits a string reachable from the app still holds."""
    found: set[str] = set()
    for obj in _reachable(app):
        if isinstance(obj, str):
            found.update(t for t in person if t in obj)
    return found


async def gone(app: KioskApp, pilot: Pilot[None], person: tuple[str, ...]) -> None:
    """The patient leaves the app's objects within a few seconds of the wipe.

    The screens go at once; a timer armed meanwhile (a notification's, a client's
    timeout) may hold a dropped screen until the app's second sweep, a second later.
    """
    try:
        await wait_for(pilot, lambda: not leaks(app, person), "patient gone from memory", 5)
    except TimeoutError:
        raise AssertionError(" > ".join(_path_to(app, person[0]))) from None
