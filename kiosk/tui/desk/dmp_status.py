"""Does the patient have a DMP, and may this establishment reach it? (TD0.2 or the local record).

One service call, :meth:`Admission.dmp_status`, whose stage says where the
enrolment goes, each TD0.2 outcome with its own text (seed 004: « le DMP est
automatiquement créé pour les usagers non détenteurs sauf en cas d'opposition »):
no DMP → the information to give; a DMP without our authorization → ask the patient;
with it → the web account offer, or (F8) its closure if the patient asks for it; a
closed DMP → F7 reopens it (:meth:`Admission.reactivate`) only if the patient asks,
in person; the patient opposed the creation → nothing is offered but how to change
that; forbidden → the summary. When INSi or the DMP cannot be reached the flow stays
where it is (the admission is still ``QUALIFIED``) and the agent retries with a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, LoadingIndicator, Static

from kiosk.errors import KioskError, Unavailable
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["DmpStatusScreen"]

_ANSWERS = frozenset(
    {
        Stage.NO_DMP,
        Stage.NEEDS_AUTHORIZATION,
        Stage.AUTHORIZED,
        Stage.FORBIDDEN,
        Stage.CLOSED,
        Stage.OPPOSED,
    }
)
"""The stages :meth:`Admission.dmp_status` gives, each with its ``tui.dmp.answer.*`` text."""


class DmpStatusScreen(PatientScreen):
    """The DMP's existence and our authorization, then the next step; retry when unreachable."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("r", "retry", "tui.dmp.retry_key"),
        ("f7", "reactivate", "tui.dmp.reactivate_key"),
        ("f8", "close_dmp", "tui.dmp.close_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._stage: Stage | None = None
        self._failure: KioskError | None = None
        self._reopened = False

    def body(self) -> ComposeResult:
        with Vertical(id="dmp-status", classes="enrol"):
            yield Static(markup=False, id="dmp-title", classes="title")
            yield LoadingIndicator(id="dmp-busy")
            yield Static(markup=False, id="dmp-answer", classes="enrol-text")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="dmp-next", variant="primary")
                yield Button(id="dmp-reactivate")
                yield Button(id="dmp-close")
                yield Button(id="dmp-retry")

    def on_mount(self) -> None:
        super().on_mount()
        self.check()

    @work(exclusive=True, exit_on_error=False)
    async def check(self) -> None:
        """Ask once (TD0.2 unless the local record knows); render the answer or the failure."""
        self._stage, self._failure = None, None
        self._busy(True)
        try:
            self._stage = await self.admission.dmp_status()
        except KioskError as exc:
            self._failure = exc
            self.kiosk.show_error(exc)
        finally:
            self._busy(False)

    @work(exclusive=True, exit_on_error=False)
    async def reopen(self) -> None:
        """TD1.2 at the patient's request; their card must be in the reader."""
        self._failure = None
        self._busy(True)
        try:
            self._stage = await self.admission.reactivate()
            self._reopened = True
        except KioskError as exc:
            self.kiosk.show_error(exc)
        finally:
            self._busy(False)

    def _busy(self, busy: bool) -> None:
        self.query_one("#dmp-busy", LoadingIndicator).display = busy
        self.render_texts()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#dmp-title", Static).update(text("tui.dmp.title", lang))
        answer = self.query_one("#dmp-answer", Static)
        next_button = self.query_one("#dmp-next", Button)
        retry = self.query_one("#dmp-retry", Button)
        next_button.label = text("tui.dmp.next", lang)
        retry.label = text("tui.dmp.retry", lang)
        reactivate = self.query_one("#dmp-reactivate", Button)
        close = self.query_one("#dmp-close", Button)
        reactivate.label = text("tui.dmp.reactivate", lang)
        close.label = text("tui.dmp.close", lang)
        reactivate.display = self._stage is Stage.CLOSED
        close.display = self._stage is Stage.AUTHORIZED
        if self._failure is not None:
            reason = self._failure.message(lang)
            if isinstance(self._failure, Unavailable):
                answer.update(text("tui.dmp.unreachable", lang, reason=reason))
            else:
                answer.update(text("tui.dmp.failed", lang, reason=reason))
        elif self._stage in _ANSWERS:
            answer.update(
                (text("tui.dmp.reopened", lang) + " " if self._reopened else "")
                + text(f"tui.dmp.answer.{self._stage}", lang)
            )
        elif self._stage is not None:
            answer.update(text("tui.dmp.other", lang))
        else:
            answer.update(text("tui.dmp.asking", lang))
        self.refresh_bindings()
        next_button.display = self._stage is not None
        retry.display = self._failure is not None
        if self._stage is not None and not next_button.has_focus:
            next_button.focus()
        elif self._failure is not None and not retry.has_focus:
            retry.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The retry key shows only after a failure."""
        if action == "retry":
            return self._failure is not None
        if action == "reactivate":
            return self._stage is Stage.CLOSED
        if action == "close_dmp":
            return self._stage is Stage.AUTHORIZED
        return True

    def action_reactivate(self) -> None:
        """Reopen the closed DMP: only on the patient's request, the patient present."""
        if self._stage is Stage.CLOSED:
            self.reopen()

    def action_close_dmp(self) -> None:
        """The patient asks to close their DMP: the closure screen asks their reason."""
        if self._stage is Stage.AUTHORIZED:
            from kiosk.tui.desk.closure import ClosureScreen

            self.show(ClosureScreen(self.admission))

    @on(Button.Pressed, "#dmp-reactivate")
    def _reactivate(self) -> None:
        self.action_reactivate()

    @on(Button.Pressed, "#dmp-close")
    def _close(self) -> None:
        self.action_close_dmp()

    def action_retry(self) -> None:
        """Ask again (only after a failure: the stage has not moved)."""
        if self._failure is not None:
            self.check()

    @on(Button.Pressed, "#dmp-retry")
    def _retry(self) -> None:
        self.action_retry()

    @on(Button.Pressed, "#dmp-next")
    def _next(self) -> None:
        """Hand over to the step the answer leads to."""
        stage = self._stage
        if stage is Stage.NO_DMP:
            from kiosk.tui.desk.information import InformationScreen

            self.show(InformationScreen(self.admission))
        elif stage is Stage.NEEDS_AUTHORIZATION:
            from kiosk.tui.desk.authorization import AuthorizationScreen

            self.show(AuthorizationScreen(self.admission))
        elif stage is Stage.AUTHORIZED:
            from kiosk.tui.desk.web_account import WebAccountScreen

            self.show(WebAccountScreen(self.admission))
        elif stage is not None:
            from kiosk.tui.desk.summary import SummaryScreen

            self.show(SummaryScreen(self.admission))
