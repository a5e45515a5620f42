"""The frame every kiosk screen shares: its body, then the status bar and the key bindings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.screen import Screen

from kiosk.locale import text
from kiosk.tui.messages import LanguageChanged, LightChanged
from kiosk.tui.widgets.keys import KeyBar
from kiosk.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp

__all__ = ["KioskScreen"]


class KioskScreen(Screen[None]):
    """A screen with the always-visible status bar; subclasses write :meth:`body`."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    """``(key, action, catalogue key of its label)``: bindings whose footer label follows
    the app's language (Textual's ``BINDINGS`` have one fixed description)."""

    @property
    def kiosk(self) -> KioskApp:
        """The app, typed."""
        return cast("KioskApp", self.app)

    def show(self, screen: Screen[Any]) -> None:
        """Push ``screen`` from the app's own task, not from the caller's worker.

        A screen pushed inside a worker starts its tasks and timers in that worker's
        context, where Textual keeps the worker, hence this screen: a wiped patient
        screen would stay in memory as long as the next one lives.
        """
        self.app.call_later(self.app.push_screen, screen)

    def replace_with(self, screen: Screen[Any]) -> None:
        """Switch to ``screen`` in place of this one, from the app's own task (see :meth:`show`)."""
        self.app.call_later(self.app.switch_screen, screen)

    def body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def compose(self) -> ComposeResult:
        yield from self.body()
        yield StatusBar()
        yield KeyBar()

    def on_mount(self) -> None:
        self._localise()

    def on_language_changed(self, message: LanguageChanged) -> None:
        self._localise()
        for bar in self.query(StatusBar):
            bar.post_message(LanguageChanged())

    def on_light_changed(self, message: LightChanged) -> None:
        for bar in self.query(StatusBar):
            bar.post_message(LightChanged(message.name))

    def on_screen_resume(self) -> None:
        for bar in self.query(StatusBar):  # the lights went on while another screen was shown
            bar.redraw()

    def _localise(self) -> None:
        self._localise_keys()
        self.render_texts()

    def _localise_keys(self) -> None:
        if not self.KEYS:
            return
        lang = self.kiosk.lang
        merged = type(self)._merged_bindings
        bindings = merged.copy() if merged is not None else BindingsMap()
        for key, action, label in self.KEYS:
            bindings.key_to_bindings[key] = [Binding(key, action, text(label, lang))]
        self._bindings = bindings  # Textual's own map, rebuilt: no public setter exists
        self.refresh_bindings()

    def render_texts(self) -> None:
        """Write every text in the app's language (on mount and on each switch)."""
