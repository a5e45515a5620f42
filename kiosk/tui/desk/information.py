"""What the patient is told before any consent: what the DMP is, who sees it, their rights.

Words from the patient leaflets (DOMAIN.md §1, seeds 003 and 004), short enough to be
read aloud at the desk. Whether the brochure was handed over is chosen explicitly by
the agent — neither answer is pre-selected or focused (F5, F6, or Tab then Enter) —
and recorded with the information (:meth:`Admission.give_information`), since
consent may follow at another visit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["InformationScreen"]


class InformationScreen(PatientScreen):
    """The DMP in plain words; the agent says whether the brochure was handed over."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f5", "inform(True)", "tui.information.given_key"),
        ("f6", "inform(False)", "tui.information.declined_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._busy = False

    def body(self) -> ComposeResult:
        with Vertical(id="information", classes="enrol"):
            yield Static(markup=False, id="information-title", classes="title")
            with VerticalScroll(id="information-scroll", classes="enrol-scroll"):
                yield Static(markup=False, id="information-text", classes="enrol-text")
            yield Static(markup=False, id="information-ask", classes="enrol-ask")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="information-given")
                yield Button(id="information-declined")

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#information-title", Static).update(text("tui.information.title", lang))
        self.query_one("#information-text", Static).update(text("tui.information.body", lang))
        ask = (
            text("tui.information.wait", lang) if self._busy else text("tui.information.ask", lang)
        )
        self.query_one("#information-ask", Static).update(ask)
        self.query_one("#information-given", Button).label = text("tui.information.given", lang)
        self.query_one("#information-declined", Button).label = text(
            "tui.information.declined", lang
        )

    @on(Button.Pressed, "#information-given")
    def _given(self) -> None:
        self.action_inform(True)

    @on(Button.Pressed, "#information-declined")
    def _declined(self) -> None:
        self.action_inform(False)

    def action_inform(self, brochure: bool) -> None:
        """Record the information given (with or without the brochure), then the consent."""
        if not self._busy:
            self.inform(brochure)

    @work(exclusive=True, exit_on_error=False)
    async def inform(self, brochure: bool) -> None:
        """One call; then the consent screen."""
        self._busy = True
        self.render_texts()
        try:
            await self.admission.give_information(brochure=brochure)
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        finally:
            self._busy = False
            self.render_texts()
        from kiosk.tui.desk.consent import ConsentScreen

        self.show(ConsentScreen(self.admission))
