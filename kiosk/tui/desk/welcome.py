"""The desk's first screen: asks for the agent's CPE card and tells which card is present.

It renders the cards the app has heard of from the card monitor (:class:`CardChanged`
messages). A CPS/CPE card is the way in: when the session says one is present
(:class:`~kiosk.services.session.CardPresented`, or that state on mount) the PIN
screen opens; after a logout with the card still in, Enter opens it again. A Vitale
card before anyone is logged in is answered with "log in first"; any other card is
named as not recognised. Where the site allows indirect mode, F5 opens the PIN of
the establishment's certificate instead.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.cards.ports import CardInserted, CardKind
from kiosk.locale import text
from kiosk.services.session import CardPresented, SessionState
from kiosk.tui.base import KioskScreen
from kiosk.tui.messages import CardChanged, SessionChanged

__all__ = ["WelcomeScreen"]


class WelcomeScreen(KioskScreen):
    """Asks for the agent's CPE card and names the card in each reader."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("enter", "pin", "tui.welcome.key_pin"),
        ("f5", "establishment", "tui.welcome.key_establishment"),
    )

    def body(self) -> ComposeResult:
        with Vertical(id="welcome"):
            yield Static(markup=False, id="welcome-title", classes="title")
            yield Static(markup=False, id="welcome-prompt", classes="prompt")
            yield Static(markup=False, id="welcome-card", classes="card")
            yield Static(markup=False, id="welcome-hint", classes="hint")

    def on_mount(self) -> None:  # KioskScreen.on_mount runs as well (Textual walks the MRO)
        if self.kiosk.services.session.state is SessionState.CARD_PRESENT:
            self.call_after_refresh(self.action_pin)

    def on_card_changed(self, message: CardChanged) -> None:
        self.render_texts()

    def on_session_changed(self, message: SessionChanged) -> None:
        self.render_texts()
        if isinstance(message.event, CardPresented):
            self.action_pin()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Each key is offered only when it can do something now."""
        session = self.kiosk.services.session
        if action == "pin":
            return session.reader is not None and session.state in (
                SessionState.CARD_PRESENT,
                SessionState.ENDED,
            )
        if action == "establishment":
            return (
                session.establishment_label is not None
                and session.reader is None
                and session.state in (SessionState.NO_CARD, SessionState.ENDED)
            )
        return True

    def action_pin(self) -> None:
        """The PIN of the CPE present."""
        self._ask_pin("card")

    def action_establishment(self) -> None:
        """The PIN of the establishment's certificate (indirect mode), after the agent's name."""
        if self.kiosk.services.desk.needs_agent_login:
            from kiosk.tui.desk.agent_login import AgentLoginScreen

            screen = AgentLoginScreen()
            if self.is_current and screen.wanted:
                self.show(screen)
            return
        self._ask_pin("establishment")

    def _ask_pin(self, mode: str) -> None:
        from kiosk.tui.desk.pin import PinMode, PinScreen

        screen = PinScreen(PinMode(mode))
        if self.is_current and screen.wanted:
            self.show(screen)

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#welcome-title", Static).update(text("tui.welcome.title", lang))
        self.query_one("#welcome-prompt", Static).update(text("tui.welcome.insert_cpe", lang))
        card = self.query_one("#welcome-card", Static)
        lines = [self._line(c) for c in self.kiosk.cards.values()]
        card.update("\n".join(lines))
        card.display = bool(lines)
        hint = self.query_one("#welcome-hint", Static)
        indirect = self.check_action("establishment", ())
        hint.update(text("tui.welcome.establishment_hint", lang) if indirect else "")
        hint.display = bool(indirect)
        self.refresh_bindings()

    def _line(self, card: CardInserted) -> str:
        lang = self.kiosk.lang
        if card.kind is CardKind.CPS:
            present = text("tui.welcome.cps_present", lang, reader=card.reader)
            state = self.kiosk.services.session.state
            if state is SessionState.CARD_BLOCKED:
                return f"{present} {text('tui.welcome.card_blocked', lang)}"
            if self.check_action("pin", ()):
                return f"{present} {text('tui.welcome.press_enter', lang)}"
            return present
        if card.kind is CardKind.VITALE:
            if self.kiosk.services.session.state is SessionState.LOGGED_IN:
                return text("tui.welcome.vitale_present", lang, reader=card.reader)
            return text("tui.welcome.vitale_first", lang, reader=card.reader)
        return text("tui.welcome.unknown_card", lang, reader=card.reader)
