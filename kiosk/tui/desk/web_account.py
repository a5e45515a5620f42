"""The patient's web account, only if the patient asks: a contact for the codes, then the receipt.

The agent types a mobile number (overseas ones too: +262, +590, +596, +594, +269)
or an e-mail for the one-time codes; the service checks and normalises it
(:meth:`Admission.open_web_account`, TD1.5). The credentials are printed only on
request (:meth:`Admission.print_credentials`) and may be printed again. The
temporary password is never shown: it exists on paper only. A printer out of paper
is said plainly; the receipt stays in the session's print queue and the agent prints
it again once the paper is back.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, LoadingIndicator, Static

from kiosk.errors import KioskError, PrinterError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["WebAccountScreen"]


class WebAccountScreen(PatientScreen):
    """Open the web account on request; print (and reprint) its credentials on request."""

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._busy = False
        self._failure: KioskError | None = None
        self._print_failure: PrinterError | None = None

    @property
    def _opened(self) -> bool:
        return self.admission.stage is Stage.WEB_ACCOUNT_OPEN

    def body(self) -> ComposeResult:
        with Vertical(id="web-account", classes="enrol"):
            yield Static(markup=False, id="web-title", classes="title")
            yield Static(markup=False, id="web-text", classes="enrol-text")
            with Horizontal(classes="web-row", id="web-mobile-row"):
                yield Static(markup=False, id="web-mobile-label", classes="web-label")
                yield Input(id="web-mobile", placeholder="+33 6 12 34 56 78")
            with Horizontal(classes="web-row", id="web-email-row"):
                yield Static(markup=False, id="web-email-label", classes="web-label")
                yield Input(id="web-email", placeholder="prenom.nom@example.org")
            yield LoadingIndicator(id="web-busy")
            yield Static(markup=False, id="web-outcome", classes="enrol-ask")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="web-open", variant="primary")
                yield Button(id="web-print", variant="primary")
                yield Button(id="web-done")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#web-busy", LoadingIndicator).display = False
        self.query_one("#web-mobile", Input).focus()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        opened = self._opened
        self.query_one("#web-title", Static).update(text("tui.web_account.title", lang))
        # A minor's account goes to the legal representative who consented: their contact.
        minor = self.admission.representative is not None and self.admission.minor
        body = (
            text("tui.web_account.opened", lang)
            if opened
            else text("tui.web_account.body_minor", lang)
            if minor
            else text("tui.web_account.body", lang)
        )
        self.query_one("#web-text", Static).update(body)
        self.query_one("#web-mobile-label", Static).update(text("tui.web_account.mobile", lang))
        self.query_one("#web-email-label", Static).update(text("tui.web_account.email", lang))
        for row in ("#web-mobile-row", "#web-email-row"):
            self.query_one(row).display = not opened
        self.query_one("#web-outcome", Static).update(self._outcome(lang))
        open_button = self.query_one("#web-open", Button)
        open_button.label = text("tui.web_account.open", lang)
        open_button.display = not opened
        print_button = self.query_one("#web-print", Button)
        again = self.admission.printed
        print_button.label = (
            text("tui.web_account.reprint", lang) if again else text("tui.web_account.print", lang)
        )
        print_button.display = opened
        done = self.query_one("#web-done", Button)
        done.label = (
            text("tui.web_account.done", lang) if opened else text("tui.web_account.skip", lang)
        )

    def _outcome(self, lang: str) -> str:
        if self._busy:
            return text("tui.web_account.wait", lang)
        if self._print_failure is not None:
            return text(
                "tui.web_account.print_failed", lang, reason=self._print_failure.message(lang)
            )
        if self._failure is not None:
            return text("tui.web_account.failed", lang, reason=self._failure.message(lang))
        if self.admission.printed:
            return text("tui.web_account.printed", lang)
        if self._opened:
            return text("tui.web_account.print_ask", lang)
        return text("tui.web_account.ask", lang)

    @on(Input.Submitted)
    @on(Button.Pressed, "#web-open")
    def _open(self) -> None:
        if not self._busy and not self._opened:
            mobile = self.query_one("#web-mobile", Input).value
            email = self.query_one("#web-email", Input).value
            self.open_account(mobile, email)

    @work(exclusive=True, exit_on_error=False)
    async def open_account(self, mobile: str, email: str) -> None:
        """TD1.5 with the contact the patient gave; the service checks it."""
        await self._call(self.admission.open_web_account(mobile=mobile, email=email))
        if self._opened:
            for field in self.query(Input):
                field.value = ""  # the contact goes with the form
            self.query_one("#web-print", Button).focus()

    @on(Button.Pressed, "#web-print")
    def _print(self) -> None:
        if not self._busy and self._opened:
            self.print_credentials()

    @work(exclusive=True, exit_on_error=False)
    async def print_credentials(self) -> None:
        """Print (again, on a second request); a printer fault leaves the receipt queued."""
        await self._call(self.admission.print_credentials())
        # Hidden while busy, the button lost the focus: give it back, so that Enter
        # reprints (or prints once the paper is back) as the label says.
        self.query_one("#web-print", Button).focus()

    async def _call(self, call: Awaitable[object]) -> None:
        self._busy, self._failure, self._print_failure = True, None, None
        self.query_one("#web-busy", LoadingIndicator).display = True
        self.render_texts()
        try:
            await call
        except PrinterError as exc:
            self._print_failure = exc
            self.kiosk.show_error(exc)
        except KioskError as exc:
            self._failure = exc
            self.kiosk.show_error(exc)
        finally:
            self._busy = False
            self.query_one("#web-busy", LoadingIndicator).display = False
            self.render_texts()

    @on(Button.Pressed, "#web-done")
    def _done(self) -> None:
        from kiosk.tui.desk.summary import SummaryScreen

        self.show(SummaryScreen(self.admission))
