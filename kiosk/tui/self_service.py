"""The self-service mode: not built yet; its placeholder says so."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.locale import text
from kiosk.tui.base import KioskScreen

__all__ = ["SelfServicePlaceholder"]


class SelfServicePlaceholder(KioskScreen):
    """Says that self-service is not built yet."""

    def body(self) -> ComposeResult:
        yield Static(markup=False, id="placeholder", classes="prompt")

    def render_texts(self) -> None:
        self.query_one("#placeholder", Static).update(text("tui.self.not_built", self.kiosk.lang))
