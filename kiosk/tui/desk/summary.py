"""What was done for the patient, step by step; then the next patient.

Every line comes from :meth:`Admission.summary` (facts the service recorded, no personal
data): the identity qualified, the information given, each authorization of the consent,
what became of the DMP (created, queued with its place, authorized, refused, forbidden),
the web account and the receipt. Where a DMP is there (created or authorized), F6 opens
the web account, or prints its credentials again once it is open: the steps a patient
may ask for later, when the agent reopens them from the session's list; F9 opens the
patient's documents (:class:`DocumentsScreen`). "Next patient" ends the admission
(:meth:`Desk.end_admission`) and the app drops every patient screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission, AdmissionSummary

__all__ = ["SummaryScreen"]

_DMP = frozenset(
    {
        Stage.CREATED,
        Stage.WEB_ACCOUNT_OPEN,
        Stage.AUTHORIZED,
        Stage.DEFERRED,
        Stage.CREATION_FAILED,
        Stage.CONSENT_REFUSED,
        Stage.FORBIDDEN,
        Stage.CLOSED,
        Stage.OPPOSED,
        Stage.NO_DMP,
        Stage.INFORMED,
    }
)
"""The stages an admission can end in with a ``tui.summary.dmp.*`` line."""

_FAILED = frozenset({Stage.CREATION_FAILED, Stage.FORBIDDEN})

_PATIENTS_CHOICE = frozenset({Stage.CLOSED, Stage.OPPOSED})
"""Neither done nor failed: the patient's own decision about the DMP, told as a fact."""

_WEB = frozenset({Stage.CREATED, Stage.AUTHORIZED, Stage.WEB_ACCOUNT_OPEN})
"""Where the web account screen has something to do (open it, or print its receipt)."""


class SummaryScreen(PatientScreen):
    """The admission's record on screen; Enter (or the key) for the next patient."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f5", "next_patient", "tui.summary.next_key"),
        ("f6", "web_account", "tui.summary.web_key"),
        ("f9", "documents", "tui.summary.documents_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._position: int | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="summary", classes="enrol"):
            yield Static(markup=False, id="summary-title", classes="title")
            yield Static(markup=False, id="summary-lines", classes="enrol-text")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="summary-next", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#summary-next", Button).focus()
        if self.admission.stage is Stage.DEFERRED:
            self.where_queued()

    @work(exclusive=True, exit_on_error=False)
    async def where_queued(self) -> None:
        """The deferred creation's place in the queue, as it stands now."""
        try:
            self._position = await self.admission.queue_position()
        except KioskError as exc:
            self.kiosk.show_error(exc)
        self.render_texts()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#summary-title", Static).update(text("tui.summary.title", lang))
        lines = self._lines(self.admission.summary(), lang)
        self.query_one("#summary-lines", Static).update("\n".join(lines))
        self.query_one("#summary-next", Button).label = text("tui.summary.next", lang)

    def _lines(self, done: AdmissionSummary, lang: str) -> list[str]:
        def line(ok: bool | None, words: str) -> str:
            return f"{'✓' if ok else '✗' if ok is False else '·'} {words}"

        yes, no = text("tui.consent.yes", lang), text("tui.consent.no", lang)
        lines = [line(done.qualified, text("tui.summary.qualified", lang))]
        if done.brochure is not None:
            informed = (
                text("tui.summary.informed_brochure", lang)
                if done.brochure
                else text("tui.summary.informed", lang)
            )
            lines.append(line(True, informed))
        for name, given in done.consent or ():
            label = text(f"tui.consent.short.{name}", lang)
            lines.append(line(given, f"{label} : {yes if given else no}"))
        if done.authorization is not None:
            authorized = (
                text("tui.summary.authorized", lang)
                if done.authorization
                else text("tui.summary.not_authorized", lang)
            )
            lines.append(line(done.authorization, authorized))
        dmp_stage = (
            done.creation or done.stage
        )  # a created DMP stays "created" past its web account
        if dmp_stage in _DMP:
            where = (
                text("tui.consent.position", lang, position=self._position)
                if self._position is not None
                else text("tui.consent.position_unknown", lang)
            )
            dmp = text(
                f"tui.summary.dmp.{dmp_stage}", lang, position=where, code=done.last_error or "?"
            )
            ok = None if dmp_stage in _PATIENTS_CHOICE else dmp_stage not in _FAILED
            lines.append(line(ok, dmp))
        if done.web_account == "mobile":
            lines.append(line(True, text("tui.summary.web_account_mobile", lang)))
        elif done.web_account:
            lines.append(line(True, text("tui.summary.web_account_email", lang)))
        else:
            lines.append(line(None, text("tui.summary.no_web_account", lang)))
        printed = (
            text("tui.summary.printed", lang)
            if done.printed
            else text("tui.summary.not_printed", lang)
        )
        lines.append(line(done.printed or None, printed))
        return lines

    @on(Button.Pressed, "#summary-next")
    def _next(self) -> None:
        self.action_next_patient()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F6 only where a web account can be opened or its receipt printed again."""
        if action == "web_account":  # asked again while the screen is dropped, too
            return not self.stale and self.admission.stage in _WEB
        if action == "documents":  # a DMP this establishment reaches
            return not self.stale and self.admission.stage in _WEB
        return True

    def action_documents(self) -> None:
        """The patient's documents: send a PDF, hide or release one, delete, withdraw."""
        from kiosk.tui.desk.documents import DocumentsScreen

        if not self.stale and self.admission.stage in _WEB:
            self.show(DocumentsScreen(self.admission))

    def action_web_account(self) -> None:
        """The web account: opened now, or its credentials printed again."""
        from kiosk.tui.desk.web_account import WebAccountScreen

        if not self.stale and self.admission.stage in _WEB:
            self.show(WebAccountScreen(self.admission))

    def action_next_patient(self) -> None:
        """End this admission: the desk forgets the patient, the app goes home."""
        self.desk.end_admission()
        self.kiosk.reconcile_screens()
