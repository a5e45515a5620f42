"""The frame every kiosk screen shares: its body, then the status bar and the key bindings."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from kiosk.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp

__all__ = ["KioskScreen"]


class KioskScreen(Screen[None]):
    """A screen with the always-visible status bar; subclasses write :meth:`body`."""

    @property
    def kiosk(self) -> KioskApp:
        """The app, typed."""
        return cast("KioskApp", self.app)

    def body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def compose(self) -> ComposeResult:
        yield from self.body()
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.kiosk, "lang", self.render_texts, init=True)

    def render_texts(self) -> None:
        """Write every text in the app's language (on mount and on each switch)."""
