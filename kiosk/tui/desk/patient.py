"""The base of every screen that shows a patient: it goes when the admission goes.

A patient screen is always pushed as a fresh instance and never installed, so that
dropping it drops its widgets and whatever they showed (ARCHITECTURE.md §9). The
app pops every patient screen when the desk has no admission any more (Vitale card
pulled, session ended, next patient), and a screen whose admission was replaced by
another one is :attr:`PatientScreen.stale` and goes too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Button, DataTable, Input, OptionList, Static

from kiosk.tui.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission
    from kiosk.services.desk import Desk

__all__ = ["PatientScreen"]


class PatientScreen(KioskScreen):
    """A screen about the patient of one admission."""

    def __init__(self, admission: Admission) -> None:
        super().__init__()
        self._admission: Admission | None = admission

    @property
    def desk(self) -> Desk:
        """The desk service."""
        return self.kiosk.services.desk

    @property
    def admission(self) -> Admission:
        """The admission this screen is about (the desk's current one)."""
        assert self._admission is not None  # only read while the screen is shown
        return self._admission

    @property
    def stale(self) -> bool:
        """Whether the desk moved on to another admission (or none)."""
        return self._admission is None or self.desk.admission is not self._admission

    def scrub(self) -> None:
        """Blank every text this screen shows, before the app drops it.

        Textual may keep a dropped screen referenced for a while (a timer's context
        holds the screens visible when it was armed): it must hold nothing of the
        patient by then.
        """
        for widget in self.query("*"):
            if isinstance(widget, Static):
                widget.update("")
            elif isinstance(widget, DataTable):
                widget.clear(columns=True)
            elif isinstance(widget, OptionList):
                widget.clear_options()
            elif isinstance(widget, Input):
                widget.value = ""
            elif isinstance(widget, Button):
                widget.label = ""
        self._admission = None

    def on_unmount(self) -> None:
        self._admission = None  # nothing of the patient outlives the screen
