"""What every self-service screen shares: large text, the key bar only, and the visit it shows.

A patient screen here is a fresh instance pushed over the attract screen, like the desk's
(:class:`~kiosk.tui.desk.patient.PatientScreen`): a wipe drops and blanks it. Its visit is
stale once the kiosk forgot the patient (:attr:`SelfService.admission` is another or None).
Designed for 50×15 cells first (ARCHITECTURE.md §9), no status bar: the hall needs none.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from kiosk.tui.base import KioskScreen
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.widgets.keys import KeyBar

__all__ = ["SelfScreen", "VisitScreen"]


class SelfScreen(KioskScreen):
    """A self-service screen: its body and the key bar, no status bar.

    The arrow keys move between the big buttons as Tab does: a kiosk keypad has arrows
    and Enter, rarely Tab.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,up", "app.focus_previous", show=False),
        Binding("right,down", "app.focus_next", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield from self.body()
        yield KeyBar()

    def on_key(self) -> None:
        """Any key is the patient still there: the countdown starts again."""
        self.kiosk.services.self_service.touch()

    def on_click(self) -> None:
        """A touch too."""
        self.kiosk.services.self_service.touch()


class VisitScreen(SelfScreen, PatientScreen):
    """A screen about the patient at the kiosk; dropped and blanked by the wipe."""

    busy = False
    """A service call is under way: the buttons are off."""
    status = ""
    """What the screen is doing, or the error met, in the patient's language."""

    def working(self, status: str) -> None:
        """A service call begins: what it does shown, the buttons off."""
        self.busy = True
        self.status = status
        self.render_texts()

    def done(self, status: str = "") -> None:
        """The call ended (``status``: the error met, if any): the buttons back on."""
        self.busy = False
        self.status = status
        self.render_texts()

    def visit_ended(self) -> None:
        """The service finished the visit: the app drops its screens (from its own task)."""
        self.kiosk.call_later(self.kiosk.reconcile_screens)

    @property
    def stale(self) -> bool:
        """Whether the kiosk moved on to another patient, or none."""
        visit = self.kiosk.services.self_service.admission
        return self._admission is None or visit is not self._admission
