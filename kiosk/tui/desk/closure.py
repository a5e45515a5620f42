"""The patient asks to close their DMP: their reason, then TD1.4, only with them at the desk.

Seed 001: the patient « décide de sa création et de sa fermeture ». One service
call, :meth:`Admission.close`, which refuses (and changes nothing) unless the
patient's Vitale card is in the reader and a reason is given; the reason goes to the
DMP and the audit line. Once closed the DMP can be reopened later, at the patient's
request (the DMP status screen, F7). Esc goes back without closing anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, LoadingIndicator, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["ClosureScreen"]


class ClosureScreen(PatientScreen):
    """Close the patient's DMP at their request, with their reason."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f5", "confirm", "tui.closure.confirm_key"),
        ("escape", "back", "tui.closure.back_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._busy = False
        self._dmp_closed = False
        self._failure: KioskError | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="closure", classes="enrol"):
            yield Static(markup=False, id="closure-title", classes="title")
            yield Static(markup=False, id="closure-text", classes="enrol-text")
            with Horizontal(classes="web-row"):
                yield Static(markup=False, id="closure-reason-label", classes="web-label")
                yield Input(id="closure-reason", max_length=500)
            yield LoadingIndicator(id="closure-busy")
            yield Static(markup=False, id="closure-outcome", classes="enrol-ask")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="closure-confirm", variant="error")
                yield Button(id="closure-next", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#closure-busy", LoadingIndicator).display = False
        self.query_one("#closure-reason", Input).focus()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#closure-title", Static).update(text("tui.closure.title", lang))
        self.query_one("#closure-text", Static).update(text("tui.closure.body", lang))
        self.query_one("#closure-reason-label", Static).update(text("tui.closure.reason", lang))
        self.query_one("#closure-reason", Input).placeholder = text("tui.closure.reason_hint", lang)
        if self._busy:
            outcome = text("tui.closure.wait", lang)
        elif self._dmp_closed:
            outcome = text("tui.closure.done", lang)
        elif self._failure is not None:
            outcome = text("tui.closure.failed", lang, reason=self._failure.message(lang))
        else:
            outcome = text("tui.closure.ask", lang)
        self.query_one("#closure-outcome", Static).update(outcome)
        confirm = self.query_one("#closure-confirm", Button)
        next_button = self.query_one("#closure-next", Button)
        confirm.label = text("tui.closure.confirm", lang)
        next_button.label = text("tui.closure.next", lang)
        confirm.display = not self._dmp_closed
        next_button.display = self._dmp_closed
        self.query_one("#closure-reason", Input).disabled = self._dmp_closed
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Confirm and back only while the DMP is not closed yet."""
        if action in ("confirm", "back"):
            return not self._dmp_closed
        return True

    def action_confirm(self) -> None:
        """Close, once (a second press while it is sent is ignored)."""
        if not self._busy and not self._dmp_closed:
            self.close_dmp(self.query_one("#closure-reason", Input).value)

    def action_back(self) -> None:
        """Back to the DMP status, nothing closed."""
        if not self._busy and not self._dmp_closed:
            self.dismiss()

    @on(Input.Submitted, "#closure-reason")
    @on(Button.Pressed, "#closure-confirm")
    def _confirm(self) -> None:
        self.action_confirm()

    @work(exclusive=True, exit_on_error=False)
    async def close_dmp(self, reason: str) -> None:
        """One call: TD1.4 with the patient's reason, the patient present."""
        self._busy, self._failure = True, None
        self.query_one("#closure-busy", LoadingIndicator).display = True
        self.render_texts()
        try:
            stage = await self.admission.close(reason)
        except KioskError as exc:
            self._failure = exc
            self.kiosk.show_error(exc)
        else:
            self._dmp_closed = stage is Stage.CLOSED
        finally:
            self._busy = False
            self.query_one("#closure-busy", LoadingIndicator).display = False
            self.render_texts()
        if self._dmp_closed:
            self.query_one("#closure-next", Button).focus()

    @on(Button.Pressed, "#closure-next")
    def _next(self) -> None:
        from kiosk.tui.desk.summary import SummaryScreen

        self.show(SummaryScreen(self.admission))
