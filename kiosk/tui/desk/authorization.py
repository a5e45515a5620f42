"""An existing DMP this establishment may not reach yet: the patient's agreement, asked explicitly.

Neither answer is pre-selected or focused (F5, F6, or Tab then Enter). Agreement
sends TD0.3 through the outbox (:meth:`Admission.authorize`) and goes on to the web
account offer; a refusal goes to the summary. A TD0.3 the DMP rejected leaves the
question open, with the reason. For a minor, the legal representative answers: their
names and quality are asked first (:class:`RepresentativeForm`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, LoadingIndicator, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.widgets.representative import RepresentativeForm

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["AuthorizationScreen"]


class AuthorizationScreen(PatientScreen):
    """Asks the patient to let this establishment's professionals reach their DMP."""

    AUTO_FOCUS = ""  # Textual would focus the first answer: neither is a default

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f5", "answer(True)", "tui.authorization.agreed_key"),
        ("f6", "answer(False)", "tui.authorization.refused_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._busy = False
        self._failure: KioskError | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="authorization", classes="enrol"):
            yield Static(markup=False, id="authorization-title", classes="title")
            yield Static(markup=False, id="authorization-text", classes="enrol-text")
            yield RepresentativeForm(id="authorization-representative")
            yield LoadingIndicator(id="authorization-busy")
            yield Static(markup=False, id="authorization-outcome", classes="enrol-ask")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="authorization-agreed")
                yield Button(id="authorization-refused")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#authorization-busy", LoadingIndicator).display = False
        self.query_one(RepresentativeForm).display = self.admission.minor

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#authorization-title", Static).update(text("tui.authorization.title", lang))
        self.query_one("#authorization-text", Static).update(text("tui.authorization.body", lang))
        if self._busy:
            outcome = text("tui.authorization.wait", lang)
        elif self._failure is not None:
            outcome = text("tui.authorization.failed", lang, reason=self._failure.message(lang))
        else:
            outcome = text("tui.authorization.ask", lang)
        self.query_one("#authorization-outcome", Static).update(outcome)
        self.query_one("#authorization-agreed", Button).label = text(
            "tui.authorization.agreed", lang
        )
        self.query_one("#authorization-refused", Button).label = text(
            "tui.authorization.refused", lang
        )
        form = self.query_one(RepresentativeForm)
        form.localise(lang)
        form.set_disabled(self._busy)

    @on(Button.Pressed, "#authorization-agreed")
    def _agreed(self) -> None:
        self.action_answer(True)

    @on(Button.Pressed, "#authorization-refused")
    def _refused(self) -> None:
        self.action_answer(False)

    def action_answer(self, agreed: bool) -> None:
        """The patient's answer, once (a second press while it is recorded is ignored)."""
        if not self._busy:
            self.answer(agreed)

    @work(exclusive=True, exit_on_error=False)
    async def answer(self, agreed: bool) -> None:
        """One call (TD0.3 when agreed); then the web account offer or the summary."""
        try:
            representative = (
                self.query_one(RepresentativeForm).value() if self.admission.minor else None
            )
        except KioskError as exc:  # a name missing: said, nothing sent
            self.kiosk.show_error(exc)
            return
        self._busy, self._failure = True, None
        self.query_one("#authorization-busy", LoadingIndicator).display = True
        self.render_texts()
        try:
            stage = await self.admission.authorize(agreed=agreed, representative=representative)
        except KioskError as exc:
            self._failure = exc
            self.kiosk.show_error(exc)
            return
        finally:
            self._busy = False
            self.query_one("#authorization-busy", LoadingIndicator).display = False
            self.render_texts()
        if stage is Stage.AUTHORIZED:
            from kiosk.tui.desk.web_account import WebAccountScreen

            self.show(WebAccountScreen(self.admission))
        else:
            from kiosk.tui.desk.summary import SummaryScreen

            self.show(SummaryScreen(self.admission))
