"""The kiosk's Textual app: desk and self-service modes over the services bundle.

The app receives the services (``kiosk.wiring.Services``, or anything with the
attributes of :class:`kiosk.tui.ports.DeskServices`) and never builds an adapter
(ARCHITECTURE.md §9). It owns the one consumer of the card monitor: each event
updates :attr:`KioskApp.cards` and goes to the current screen as a
:class:`~kiosk.tui.messages.CardChanged` message. Errors reach the screen through
:meth:`KioskApp.show_error`: the message in the app's language and its code, never a
traceback.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kiosk.cards.ports import CardInserted, CardRemoved, ReaderRemoved
from kiosk.errors import KioskError
from kiosk.locale import LANGUAGES, text
from kiosk.notify import Notifier
from kiosk.services.session import SessionEvent, SessionLocked, SessionState
from kiosk.tui.desk.welcome import WelcomeScreen
from kiosk.tui.messages import (
    CardChanged,
    LanguageChanged,
    LightChanged,
    ScanReceived,
    SessionChanged,
)
from kiosk.tui.ports import DemoControl, DeskServices, StatusProbe
from kiosk.tui.selfservice.attract import AttractScreen
from kiosk.tui.widgets.status import POLL_S, Light, check_probe

__all__ = ["KIOSK_MODES", "KioskApp"]

log = logging.getLogger(__name__)

KIOSK_MODES = ("desk", "self")

SWITCH_INTERVAL_S = 0.0005
"""Python's thread switch interval while the app runs (see :meth:`KioskApp.on_mount`)."""

INACTIVITY_CHECK_S = 5.0

PRESENCE_CHECK_S = 1.0
"""How often the self-service kiosk asks its service whether the patient is still there."""
"""Seconds between two looks at the session's idle time (measured on its clock)."""


class KioskApp(App[None]):
    """The admission desk (``desk``) or the self-service kiosk (``self``)."""

    CSS_PATH = "app.tcss"
    TITLE = "kiosk"
    ENABLE_COMMAND_PALETTE = False  # an appliance: no way around the screens' own keys
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "desk": WelcomeScreen,
        "self": AttractScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_language", "FR/EN"),
        Binding("f12", "demo_panel", "Démo / Demo"),  # only in a demo: see check_action
    ]

    lang: reactive[str] = reactive("fr")
    """The language of every text on screen (``fr`` or ``en``)."""

    def __init__(
        self,
        services: DeskServices,
        *,
        mode: str = "desk",
        lang: str = "fr",
        demo: DemoControl | None = None,
        notifier: Notifier | None = None,
        freeze_heap: bool = False,
    ) -> None:
        if mode not in KIOSK_MODES:
            raise ValueError(mode)  # a programming error: the CLI offers only KIOSK_MODES
        super().__init__()
        self.services = services
        self.kiosk_mode = mode
        self.cards: dict[str, CardInserted] = {}
        """The card in each reader, as the monitor last told it."""
        self.set_reactive(KioskApp.lang, lang if lang in LANGUAGES else "fr")
        self.demo = demo
        """The simulated world's controls (``kiosk demo`` only): F12 opens their panel."""
        self.lights: dict[str, Light] = {}
        """The footer's lights, as the last round of probes left them."""
        self.probes_checked_at: datetime | None = None
        """When the last round of probes ended, on the services' clock."""
        self.probing: Worker[None] | None = None
        """The round of probes under way or last run."""
        self.notifier = notifier if notifier is not None else Notifier()
        """systemd's notify socket (``kiosk run`` under the unit), or nothing."""
        self.freeze_heap = freeze_heap
        """Leave what start-up built out of the garbage collector's rounds (see :meth:`on_ready`);
        for the one app of a process (``kiosk run``), not for tests that make hundreds."""

    async def on_mount(self) -> None:
        # The card, printer and SQLite threads each wait for the GIL after every blocking
        # call; while the loop draws a screen that wait is Python's switch interval, 5 ms
        # by default: a dozen PC/SC calls behind one screen push. 0.5 ms keeps a Vitale
        # read running beside the drawing (bench_desk_flow: read_ms).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.lights = {probe.name: Light(probe.name) for probe in self.services.probes}
        await self.switch_mode(self.kiosk_mode)
        self._unsubscribe = self.services.session.subscribe(self._session_event)
        self.watch_cards()
        self.watch_scanner()
        if self.kiosk_mode == "self":
            self.set_interval(PRESENCE_CHECK_S, self.check_presence)
        else:
            self.set_interval(INACTIVITY_CHECK_S, self.check_inactivity)
        self._tick_probes()
        self.set_interval(POLL_S, self._tick_probes)
        self.notifier.ready(f"{self.kiosk_mode} mode")
        if self.notifier.watchdog_s is not None:
            self.set_interval(self.notifier.watchdog_s / 2, self.feed_watchdog)

    def on_ready(self) -> None:
        # Python's full collections walk every object the process holds: with the
        # imports, the services and the first screen that was 100-270 ms of a frozen
        # screen every few seconds of use (bench_desk_flow, gc callbacks), one Vitale
        # read in ten drawn 100 ms late. What exists once the first frame is shown lives
        # as long as the process, so it leaves the collector's rounds; a visit's objects
        # are still collected. Without a collection first: that would cost the start.
        if self.freeze_heap:
            gc.freeze()

    def healthy(self) -> bool:
        """What the watchdog is fed on: the card watcher still runs (the loop does: it asks)."""
        return any(w.group == "cards" and w.state is WorkerState.RUNNING for w in self.workers)

    def feed_watchdog(self) -> None:
        """WATCHDOG=1 while healthy; otherwise say why and let systemd restart the app."""
        if self.healthy():
            self.notifier.watchdog()
        else:
            log.error("watchdog not fed: the card watcher stopped")
            self.notifier.send(STATUS="the card watcher stopped")

    def on_unmount(self) -> None:
        self._unsubscribe()
        self.notifier.stopping()

    def on_key(self) -> None:
        """Any key is activity: it defers the session's inactivity lock."""
        self.services.desk.touch()

    @work(exclusive=True, exit_on_error=False, group="inactivity")
    async def check_inactivity(self) -> None:
        """Lock (direct) or end (indirect) an idle session; the session's clock decides."""
        try:
            await self.services.desk.check_inactivity()
        except KioskError as exc:
            self.show_error(exc)

    def _tick_probes(self) -> None:
        # A round still waiting on a slow service's timeout is left to finish, not
        # restarted: the lights that answered are already shown.
        if self.probing is None or self.probing.is_finished:
            self.probing = self.poll_probes()

    @work(exclusive=True, exit_on_error=False, group="probes")
    async def poll_probes(self) -> None:
        """Check every probe at once, for every screen; each light is shown as it comes."""

        async def one(probe: StatusProbe) -> None:
            light = await check_probe(probe)
            self.lights[light.name] = light
            self.screen.post_message(LightChanged(light.name))

        await asyncio.gather(*(one(p) for p in self.services.probes))
        self.probes_checked_at = self.services.clock.now()

    def _session_event(self, event: SessionEvent) -> None:
        # Called inside a service call: the screens change once it has returned.
        self.call_later(self._after_session_event, event)

    def _after_session_event(self, event: SessionEvent) -> None:
        self.reconcile_screens()
        if isinstance(event, SessionLocked):  # the PIN covers whatever screen was shown
            from kiosk.tui.desk.pin import PinMode, PinScreen

            self.push_screen(PinScreen(PinMode.UNLOCK))
        self.screen.post_message(SessionChanged(event))

    def reconcile_screens(self) -> None:
        """Drop every screen the desk's state no longer allows: nothing personal stays.

        No agent: back to the mode's first screen, but for a PIN screen the session
        still asks for. No admission: every patient screen goes (they are fresh
        instances, so their widgets go with them).
        """
        from kiosk.tui.demo_panel import DemoPanel
        from kiosk.tui.desk.patient import PatientScreen
        from kiosk.tui.desk.pin import PinScreen

        if isinstance(self.screen, DemoPanel):
            return  # the demo's panel stays open: the screens under it follow when it closes
        if self.kiosk_mode == "self":
            self._reconcile_self()
            return
        desk = self.services.desk
        logged = self.services.session.state in (SessionState.LOGGED_IN, SessionState.LOCKED)
        while len(self.screen_stack) > 1 and (
            (not logged and not (isinstance(self.screen, PinScreen) and self.screen.wanted))
            or (desk.admission is None and isinstance(self.screen, PatientScreen))
            or (isinstance(self.screen, PatientScreen) and self.screen.stale)
        ):
            if isinstance(self.screen, PatientScreen):
                self.screen.scrub()
            self.pop_screen()
        if not logged or desk.admission is None:
            self.clear_notifications()
            _forget_cancelled_timers()
            self.set_timer(1.0, _forget_cancelled_timers)  # and those the wipe itself cancels

    def _reconcile_self(self) -> None:
        """Self-service: with no patient at the kiosk, every screen goes but the attract one."""
        from kiosk.tui.desk.patient import PatientScreen

        visit = self.services.self_service.admission
        while len(self.screen_stack) > 1 and (
            visit is None or (isinstance(self.screen, PatientScreen) and self.screen.stale)
        ):
            if isinstance(self.screen, PatientScreen):
                self.screen.scrub()
            self.pop_screen()
        if visit is None:
            self.clear_notifications()
            _forget_cancelled_timers()
            self.set_timer(1.0, _forget_cancelled_timers)

    @work(exclusive=True, exit_on_error=False, group="presence")
    async def check_presence(self) -> None:
        """Self-service: ask "Are you still there?", count down, and wipe when nobody answers."""
        from kiosk.domain.selfservice import Presence
        from kiosk.tui.selfservice.still_there import StillThereScreen

        check = await self.services.self_service.check_presence()
        shown = self.screen
        if check.state is Presence.EXPIRED:
            self.reconcile_screens()
        elif check.state is Presence.ASKING:
            if isinstance(shown, StillThereScreen):
                shown.count(check.seconds_left)
            else:
                self.push_screen(StillThereScreen(check.seconds_left))
        elif isinstance(shown, StillThereScreen):
            self.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The demo panel's key exists only in a demo (hidden from the footer otherwise)."""
        if action == "demo_panel":
            return self.demo is not None
        return True

    def action_demo_panel(self) -> None:
        """Open the demo panel (close it when it is open)."""
        from kiosk.tui.demo_panel import DemoPanel

        if isinstance(self.screen, DemoPanel):
            self.screen.dismiss()
        elif self.demo is not None:
            self.push_screen(DemoPanel(self.demo), lambda _: self.reconcile_screens())

    def action_toggle_language(self) -> None:
        """Switch between French and English."""
        self.lang = "en" if self.lang == "fr" else "fr"

    def watch_lang(self) -> None:
        for screen in self.screen_stack:
            screen.post_message(LanguageChanged())

    def show_error(self, exc: KioskError) -> None:
        """Show ``exc`` to the user in the app's language, with its code; log the code."""
        log.warning("shown error", extra={"code": exc.code, "detail": exc.detail})
        self.notify(
            exc.message(self.lang),
            title=text("tui.app.error_title", self.lang, code=exc.code),
            severity="error",
            markup=False,  # a reader's or a file's name is shown as written
        )

    @work(exclusive=True, exit_on_error=False, group="cards")
    async def watch_cards(self) -> None:
        """Forward every card monitor event to the current screen, in order."""
        async for event in self.services.card_monitor.events():
            if isinstance(event, CardInserted):
                self.cards[event.reader] = event
            elif isinstance(event, CardRemoved | ReaderRemoved):
                self.cards.pop(event.reader, None)
            try:
                if self.kiosk_mode == "self":
                    await self.services.self_service.card_event(event)
                else:
                    await self.services.desk.card_event(event)
            except KioskError as exc:
                self.show_error(exc)
            self.reconcile_screens()
            self.screen.post_message(CardChanged(event))

    @work(exclusive=True, exit_on_error=False, group="scanner")
    async def watch_scanner(self) -> None:
        """Forward every scanner event to the current screen (a Data Matrix, a bad read)."""
        scanner = self.services.scanner
        if scanner is None:
            return
        async for event in scanner.events():
            self.screen.post_message(ScanReceived(event))


def _forget_cancelled_timers() -> None:
    """Drop the loop's cancelled timers now, and the contexts they were made in.

    asyncio keeps a cancelled timer in its heap until it falls due (a client's 30 s
    timeout, say), and with it the context of the task that armed it: for a timer
    armed in a screen's worker, Textual's current worker, hence the screen and what
    it showed of the patient. A wipe must not leave that in memory for a minute.
    Only for the standard loop, whose heap is a list of handles.
    """
    loop = asyncio.get_running_loop()
    scheduled = getattr(loop, "_scheduled", None)
    if not isinstance(scheduled, list):
        return
    live = [handle for handle in scheduled if not handle.cancelled()]
    if len(live) != len(scheduled):
        heapq.heapify(live)
        scheduled[:] = live
        loop._timer_cancelled_count = 0  # type: ignore[attr-defined]
