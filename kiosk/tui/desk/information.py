"""What the patient is told before any consent: what the DMP is, who sees it, their rights.

Words from the patient leaflets (DOMAIN.md §1, seeds 003 and 004), short enough to be
read aloud at the desk. Whether the brochure was handed over is chosen explicitly by
the agent — neither answer is pre-selected or focused (F5, F6, or Tab then Enter) —
and recorded with the information (:meth:`Admission.give_information`), since
consent may follow at another visit. When the patient's record already holds an
information (an earlier visit, the self-service kiosk), the screen says when and how,
and F7 goes on to the consent on its strength (:meth:`Admission.use_earlier_information`).
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
    from kiosk.domain.consent import InformationGiven
    from kiosk.services.admission import Admission

__all__ = ["InformationScreen"]


class InformationScreen(PatientScreen):
    """The DMP in plain words; the agent says whether the brochure was handed over."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f5", "inform(True)", "tui.information.given_key"),
        ("f6", "inform(False)", "tui.information.declined_key"),
        ("f7", "earlier", "tui.information.earlier_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._busy = False

    def body(self) -> ComposeResult:
        with Vertical(id="information", classes="enrol"):
            yield Static(markup=False, id="information-title", classes="title")
            with VerticalScroll(id="information-scroll", classes="enrol-scroll"):
                yield Static(markup=False, id="information-text", classes="enrol-text")
            yield Static(markup=False, id="information-earlier", classes="enrol-ask")
            yield Static(markup=False, id="information-ask", classes="enrol-ask")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="information-given")
                yield Button(id="information-declined")
                yield Button(id="information-earlier-use")

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
        earlier = self._earlier_information()
        told = self.query_one("#information-earlier", Static)
        use = self.query_one("#information-earlier-use", Button)
        told.display = use.display = earlier is not None
        if earlier is not None:
            when = earlier.at.astimezone()
            told.update(
                text(
                    "tui.information.earlier",
                    lang,
                    date=f"{when:%d/%m/%Y}",
                    channel=text(f"tui.information.channel.{earlier.channel.value}", lang),
                    brochure=(
                        text("tui.information.with_brochure", lang)
                        if earlier.brochure
                        else text("tui.information.without_brochure", lang)
                    ),
                    version=earlier.brochure_version or "?",
                )
            )
            use.label = text("tui.information.earlier_use", lang)

    def _earlier_information(self) -> InformationGiven | None:
        # Bindings are checked again as the screen goes: no admission then, no F7.
        return None if self._admission is None else self._admission.earlier_information

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F7 shows only when the record holds an earlier information."""
        if action == "earlier":
            return self._earlier_information() is not None
        return True

    @on(Button.Pressed, "#information-given")
    def _given(self) -> None:
        self.action_inform(True)

    @on(Button.Pressed, "#information-declined")
    def _declined(self) -> None:
        self.action_inform(False)

    @on(Button.Pressed, "#information-earlier-use")
    def _earlier(self) -> None:
        self.action_earlier()

    def action_earlier(self) -> None:
        """Go on to the consent on the recorded information."""
        if not self._busy and self._earlier_information() is not None:
            self.inform(None)

    def action_inform(self, brochure: bool) -> None:
        """Record the information given (with or without the brochure), then the consent."""
        if not self._busy:
            self.inform(brochure)

    @work(exclusive=True, exit_on_error=False)
    async def inform(self, brochure: bool | None) -> None:
        """One call (``None``: the earlier information); then the consent screen."""
        self._busy = True
        self.render_texts()
        try:
            if brochure is None:
                await self.admission.use_earlier_information()
            else:
                await self.admission.give_information(brochure=brochure)
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        finally:
            self._busy = False
            self.render_texts()
        from kiosk.tui.desk.consent import ConsentScreen

        self.show(ConsentScreen(self.admission))
