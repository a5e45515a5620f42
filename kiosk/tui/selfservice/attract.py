"""The screen the self-service kiosk always returns to: "Insert your Vitale card", FR/EN.

Both languages are written on it, the chosen one first and larger; the two buttons (or
F2) switch. A Vitale card inserted here begins a visit: "Who are you?" is pushed as a
fresh screen over this one. When a visit ended with its card still in, it says how
(nothing personal: the kiosk has forgotten the patient) and "Please take your card".
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.locale import text
from kiosk.tui.messages import CardChanged
from kiosk.tui.selfservice.base import SelfScreen

__all__ = ["AttractScreen"]


class AttractScreen(SelfScreen):
    """Insert your card; the language buttons."""

    def body(self) -> ComposeResult:
        with Vertical(id="attract", classes="self"):
            yield Static(markup=False, id="attract-title", classes="self-title")
            yield Static(markup=False, id="attract-other", classes="self-text")
            with Horizontal(classes="self-actions"):
                yield Button("Français", id="lang-fr")
                yield Button("English", id="lang-en")

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        other = "en" if lang == "fr" else "fr"
        farewell = self.kiosk.services.self_service.farewell
        if farewell is None:
            title = text("tui.self.attract", lang)
            below = text("tui.self.attract", other)
        else:  # the visit ended, its card still in: how, and take it back
            title = text(f"selfservice.farewell.{farewell.value}", lang)
            below = f"{text('tui.self.take_card', lang)}\n{text('tui.self.take_card', other)}"
        self.query_one("#attract-title", Static).update(title)
        self.query_one("#attract-other", Static).update(below)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.render_texts()  # a visit may have ended meanwhile

    @on(Button.Pressed, "#lang-fr")
    def _french(self) -> None:
        self.kiosk.lang = "fr"

    @on(Button.Pressed, "#lang-en")
    def _english(self) -> None:
        self.kiosk.lang = "en"

    def on_card_changed(self, message: CardChanged) -> None:
        """The visit the card began, on its first screen."""
        from kiosk.tui.selfservice.who import WhoScreen

        visit = self.kiosk.services.self_service.admission
        if visit is not None and self.kiosk.screen is self:
            self.show(WhoScreen(visit))
        else:
            self.render_texts()  # the card taken back: the farewell goes
