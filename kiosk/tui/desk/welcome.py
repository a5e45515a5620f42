"""The desk's first screen: asks for the agent's CPE card and tells which card is present.

It renders the cards the app has heard of from the card monitor (:class:`CardChanged`
messages). A CPS/CPE card is the way in; a Vitale card before anyone is logged in is
answered with "log in first"; any other card is named as not recognised.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.cards.ports import CardInserted, CardKind
from kiosk.locale import text
from kiosk.services.session import SessionState
from kiosk.tui.base import KioskScreen
from kiosk.tui.messages import CardChanged

__all__ = ["WelcomeScreen"]


class WelcomeScreen(KioskScreen):
    """Asks for the agent's CPE card and names the card in each reader."""

    def body(self) -> ComposeResult:
        with Vertical(id="welcome"):
            yield Static(markup=False, id="welcome-title", classes="title")
            yield Static(markup=False, id="welcome-prompt", classes="prompt")
            yield Static(markup=False, id="welcome-card", classes="card")

    def on_card_changed(self, message: CardChanged) -> None:
        self.render_texts()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#welcome-title", Static).update(text("tui.welcome.title", lang))
        self.query_one("#welcome-prompt", Static).update(text("tui.welcome.insert_cpe", lang))
        card = self.query_one("#welcome-card", Static)
        lines = [self._line(c) for c in self.kiosk.cards.values()]
        card.update("\n".join(lines))
        card.display = bool(lines)

    def _line(self, card: CardInserted) -> str:
        lang = self.kiosk.lang
        if card.kind is CardKind.CPS:
            present = text("tui.welcome.cps_present", lang, reader=card.reader)
            later = text("tui.welcome.pin_not_built", lang)
            return f"{present} {later}"
        if card.kind is CardKind.VITALE:
            if self.kiosk.services.session.state is SessionState.LOGGED_IN:
                return text("tui.welcome.vitale_present", lang, reader=card.reader)
            return text("tui.welcome.vitale_first", lang, reader=card.reader)
        return text("tui.welcome.unknown_card", lang, reader=card.reader)
