"""The always-visible status bar: the services' lights, the mode and the agent.

Each probe of ``services.probes`` (INSi, DMP, outbox depth, readers, printer) is
checked every :data:`POLL_S` seconds by the app, in one exclusive worker for every
screen (:meth:`KioskApp.poll_probes`; a round still waiting on a slow timeout is
let finish, not restarted). A bar draws the app's latest lights when its screen
mounts or comes back, and each light as a round brings it
(:class:`~kiosk.tui.messages.LightChanged`): a new screen costs no HTTP request and
never shows "pending" again. A probe that raises despite its contract shows down,
never a traceback; a light shows words (a count, a
reason from the catalogue), its technical detail is in its tooltip. The agent line
(name, profession, structure, or the indirect mode) comes from the session's state,
refreshed on each of its events.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static
from textual.worker import Worker

from kiosk.locale import catalogue, text
from kiosk.services.session import SessionEvent, SessionMode, SessionState
from kiosk.tui.messages import LanguageChanged, LightChanged, SessionChanged

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp
    from kiosk.tui.ports import DeskSession, StatusProbe

__all__ = ["POLL_S", "Light", "StatusBar", "agent_line", "check_probe"]

POLL_S = 5.0
"""Seconds between two rounds of probes."""


@dataclass(frozen=True)
class Light:
    """What the bar shows of one probe; ``up`` is None until the first check."""

    name: str
    up: bool | None = None
    detail: str = ""


async def check_probe(probe: StatusProbe) -> Light:
    """One probe's light; a probe that raises despite its contract is down."""
    try:
        found = await probe.check()
    except Exception as exc:  # a probe must never break the footer
        return Light(probe.name, False, type(exc).__name__)
    return Light(probe.name, found.up, found.detail)


class StatusBar(Vertical):
    """Two lines at the bottom of every screen: the lights, then the mode and the agent."""

    def __init__(self) -> None:
        super().__init__(id="status")
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def kiosk(self) -> KioskApp:
        """The app, typed."""
        return cast("KioskApp", self.app)

    @property
    def lights(self) -> dict[str, Light]:
        """The app's latest light of each probe."""
        return self.kiosk.lights

    @property
    def checked_at(self) -> datetime | None:
        """When the app's last round of probes ended, on the app's clock."""
        return self.kiosk.probes_checked_at

    @property
    def polling(self) -> Worker[None] | None:
        """The app's round of probes under way or last run."""
        return self.kiosk.probing

    def compose(self) -> ComposeResult:
        with Horizontal(id="status-lights"):
            for probe in self.kiosk.services.probes:
                yield Static(markup=False, id=f"probe-{probe.name}", classes="light pending")
        with Horizontal(id="status-people"):
            yield Static(markup=False, id="status-mode", classes="mode")
            yield Static(markup=False, id="status-agent", classes="agent")

    def on_mount(self) -> None:
        session = self.kiosk.services.session
        self._unsubscribe = session.subscribe(self._heard)
        self._render_all()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _heard(self, event: SessionEvent) -> None:
        self.post_message(SessionChanged(event))  # may be called from any task

    def on_language_changed(self, message: LanguageChanged) -> None:
        message.stop()
        self._render_all()

    def on_light_changed(self, message: LightChanged) -> None:
        message.stop()
        self._render_light(self.lights.get(message.name, Light(message.name)))

    def on_session_changed(self, message: SessionChanged) -> None:
        message.stop()
        self._render_people()

    def redraw(self) -> None:
        """Draw every light and the agent line again (the screen is shown again)."""
        self._render_all()

    def _render_all(self) -> None:
        self._render_lights()
        self._render_people()

    def _render_lights(self) -> None:
        for probe in self.kiosk.services.probes:
            self._render_light(self.lights.get(probe.name, Light(probe.name)))

    def _render_light(self, light: Light) -> None:
        lang = self.kiosk.lang
        widget = self.query_one(f"#probe-{light.name}", Static)
        known = f"tui.status.probe.{light.name}" in catalogue(lang)
        label = text(f"tui.status.probe.{light.name}", lang) if known else light.name
        if light.up is None:
            state = text("tui.status.pending", lang)
        elif light.up:
            state = text("tui.status.up", lang)
        else:
            state = text("tui.status.down", lang)
        shown = f"{label} {state}"
        words = _detail_words(light, lang)
        widget.update(f"{shown} {words}" if words else shown)
        widget.tooltip = light.detail or None  # the technical detail, for whoever looks closer
        widget.set_class(light.up is None, "pending")
        widget.set_class(light.up is True, "up")
        widget.set_class(light.up is False, "down")

    def _render_people(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#status-mode", Static).update(
            text(f"tui.status.mode.{self.kiosk.kiosk_mode}", lang)
        )
        self.query_one("#status-agent", Static).update(
            agent_line(self.kiosk.services.session, lang)
        )


_NAMES = re.compile(r"[a-z0-9][a-z0-9 ,_-]*")
"""Details shown as they are: counts and lower-case names, never a type or a code."""


def _detail_words(light: Light, lang: str) -> str:
    """What a light adds for the people at the desk: a count, or a reason in words.

    A probe's detail is technical ("HTTP 200", an exception's type, an error code):
    it is shown only as a count (outbox depth, readers), as the catalogue's words for
    a known reason, or as lower-case names (the simulators that stopped); the rest
    stays in the light's tooltip and the log.
    """
    detail = light.detail.strip()
    reason = f"tui.status.reason.{detail.lower()}"
    if detail and reason in catalogue(lang):
        return text(f"tui.status.reason.{detail.lower()}", lang)
    if light.up:
        return detail if detail.isdigit() else ""
    return detail if _NAMES.fullmatch(detail) else ""


def agent_line(session: DeskSession, lang: str) -> str:
    """Who is logged in, in words: name, profession or role, structure; or the mode."""
    who = session.professional
    if who is None or session.state not in (SessionState.LOGGED_IN, SessionState.LOCKED):
        return text("tui.status.no_agent", lang)
    if session.state is SessionState.LOCKED:
        return text("tui.status.agent_locked", lang, name=who.display_name)
    if session.mode is SessionMode.INDIRECT:
        return text("tui.status.agent_indirect", lang, name=who.display_name)
    parts = [text("tui.status.agent", lang, name=who.display_name)]
    profession = f"tui.status.agent_profession.{who.profession_code}"
    role = f"tui.status.agent_role.{who.role}"
    if who.profession_code and profession in catalogue(lang):
        parts.append(text(f"tui.status.agent_profession.{who.profession_code}", lang))
    elif who.role and role in catalogue(lang):
        parts.append(text(f"tui.status.agent_role.{who.role}", lang))
    if who.organisation:
        parts.append(who.organisation)
    elif who.structure_id:
        parts.append(text("tui.status.agent_structure", lang, structure=who.structure_id))
    return " · ".join(parts)
