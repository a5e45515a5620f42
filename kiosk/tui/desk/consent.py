"""The patient's consent: four authorizations, each set by the agent, then the creation.

Creation and access by this establishment start at "no": the agent sets them as the
patient says. Emergency access ("bris de glace") starts at "yes", the rule's default
(DOMAIN.md §1), and so does access by the SAMU's regulation centre, the service's
default (:meth:`EnrolmentFlow.consent`); the patient may refuse either, and the
screen says so beside each switch. Submitting makes one call,
:meth:`Admission.consent`, which queues TD1.1 and awaits it while the DMP answers: a
progress indicator shows meanwhile. Offline, the creation stays queued (its place in
the queue is shown) and the web account, which needs the DMP, is not offered.

For a minor (:attr:`Admission.minor`) the consent is the legal representative's: their
names and quality are asked above the submit (:class:`RepresentativeForm`) and go with
the consent; without them the consent is refused with the reason, nothing changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, LoadingIndicator, Static, Switch

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.widgets.representative import RepresentativeForm

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["DEFAULTS", "ConsentScreen"]

DEFAULTS = {
    "creation": False,
    "establishment_access": False,
    "emergency_access": True,
    "regulation_centre_access": True,
}
"""Where each switch starts: emergency access yes (the rule), SAMU yes (the service's default).

Its keys are :meth:`Admission.consent`'s keyword arguments, in the order shown."""

CONSENT_CHOICES = tuple(DEFAULTS)


class ConsentScreen(PatientScreen):
    """Four switches, one submit, then what became of the creation."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (("f5", "submit", "tui.consent.submit_key"),)

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._stage: Stage | None = None
        self._busy = False
        self._position: int | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="consent", classes="enrol"):
            yield Static(markup=False, id="consent-title", classes="title")
            for name in CONSENT_CHOICES:
                with Horizontal(classes="consent-row"):
                    yield Switch(value=DEFAULTS[name], id=f"consent-{name}")
                    yield Static(markup=False, id=f"consent-{name}-label", classes="consent-label")
            yield RepresentativeForm(id="consent-representative")
            yield LoadingIndicator(id="consent-busy")
            yield Static(markup=False, id="consent-outcome", classes="enrol-text")
            with Horizontal(classes="enrol-actions"):
                yield Button(id="consent-submit", variant="primary")
                yield Button(id="consent-next", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#consent-busy", LoadingIndicator).display = False
        self.query_one(RepresentativeForm).display = self.admission.minor
        self.query_one("#consent-creation", Switch).focus()

    def _value(self, name: str) -> bool:
        return self.query_one(f"#consent-{name}", Switch).value

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#consent-title", Static).update(text("tui.consent.title", lang))
        for name in CONSENT_CHOICES:
            answer = (
                text("tui.consent.yes", lang) if self._value(name) else text("tui.consent.no", lang)
            )
            label = text(f"tui.consent.label.{name}", lang)
            self.query_one(f"#consent-{name}-label", Static).update(f"{answer.upper()} · {label}")
        self.query_one("#consent-outcome", Static).update(self._outcome(lang))
        submit = self.query_one("#consent-submit", Button)
        submit.label = text("tui.consent.submit", lang)
        done = self._stage is not None
        submit.display = not done
        submit.disabled = self._busy
        for name in CONSENT_CHOICES:
            self.query_one(f"#consent-{name}", Switch).disabled = done or self._busy
        form = self.query_one(RepresentativeForm)
        form.localise(lang)
        form.set_disabled(done or self._busy)
        next_button = self.query_one("#consent-next", Button)
        next_button.label = (
            text("tui.consent.web_account", lang)
            if self._stage is Stage.CREATED
            else text("tui.consent.next", lang)
        )
        next_button.display = done

    def _outcome(self, lang: str) -> str:
        stage = self._stage
        if self._busy:
            return text("tui.consent.creating", lang)
        if stage is Stage.CREATED:
            return text("tui.consent.created", lang)
        if stage is Stage.DEFERRED:
            where = (
                text("tui.consent.position", lang, position=self._position)
                if self._position is not None
                else text("tui.consent.position_unknown", lang)
            )
            return text("tui.consent.deferred", lang, position=where)
        if stage is Stage.CREATION_FAILED:
            return text("tui.consent.failed", lang, code=self.admission.last_error or "?")
        if stage is Stage.CONSENT_REFUSED:
            return text("tui.consent.refused", lang)
        return text("tui.consent.hint", lang)

    @on(Switch.Changed)
    def _changed(self) -> None:
        self.render_texts()

    @on(Button.Pressed, "#consent-submit")
    def _submit(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Record the consent as the switches stand (once)."""
        if self._stage is None and not self._busy:
            self.submit()

    @work(exclusive=True, exit_on_error=False)
    async def submit(self) -> None:
        """One call (TD1.1 queued, awaited while online); the queue place if deferred."""
        choices = {name: self._value(name) for name in CONSENT_CHOICES}
        try:
            representative = (
                self.query_one(RepresentativeForm).value() if self.admission.minor else None
            )
        except KioskError as exc:  # a name missing: said, nothing sent
            self.kiosk.show_error(exc)
            return
        self._busy = True
        self.query_one("#consent-busy", LoadingIndicator).display = True
        self.render_texts()
        try:
            self._stage = await self.admission.consent(
                creation=choices["creation"],
                establishment_access=choices["establishment_access"],
                emergency_access=choices["emergency_access"],
                regulation_centre_access=choices["regulation_centre_access"],
                representative=representative,
            )
            if self._stage is Stage.DEFERRED:
                self._position = await self.admission.queue_position()
        except KioskError as exc:
            self.kiosk.show_error(exc)
        finally:
            self._busy = False
            self.query_one("#consent-busy", LoadingIndicator).display = False
            self.render_texts()
        if self._stage is not None:
            self.query_one("#consent-next", Button).focus()

    @on(Button.Pressed, "#consent-next")
    def _next(self) -> None:
        """The web account offer once the DMP exists; otherwise the summary."""
        if self._stage is Stage.CREATED:
            from kiosk.tui.desk.web_account import WebAccountScreen

            self.show(WebAccountScreen(self.admission))
        elif self._stage is not None:
            from kiosk.tui.desk.summary import SummaryScreen

            self.show(SummaryScreen(self.admission))
