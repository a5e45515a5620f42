"""The chosen beneficiary's identity: INSi's answer beside the card, then qualification.

On mount INSi is searched by the card (:meth:`Admission.search_identity`). One
identity: its strict traits, its INS masked and its status ("récupérée") beside what
the card says, each trait that differs highlighted and named with why. Several
identities are never picked: a form refines the search by the traits of an identity
document (one service call, :class:`InsiTraits`); none found says so and offers the
same form. A scanned INS Data Matrix (:class:`ScanReceived`) is checked against INSi's
identity: "conforme", or the traits that differ; a garbled one changes nothing.

Qualifying needs the agent's explicit tick of the high-trust document (D): it is then
:meth:`Admission.qualify`, and only a qualified identity goes on to the DMP screen;
any refusal (not qualified, traits differ without a document) is shown and the
screen stays. Every rule is the service's; this screen only renders its answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Static

from kiosk.domain.ins import IdentityStatus
from kiosk.domain.vitale import date_from_shown, shown_birth_date
from kiosk.errors import KioskError
from kiosk.insi.protocol import ResultCode
from kiosk.insi.results import InsiTraits
from kiosk.locale import text
from kiosk.scanning.ports import ScannerState, ScanPayload, ScanRejected, ScanStatus
from kiosk.services.identity import DataMatrixMismatch, IdentityCheck
from kiosk.tui.desk.patient import PatientScreen
from kiosk.tui.messages import ScanReceived

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["IdentityScreen"]

_ROWS = ("birth_family_name", "birth_given_names", "birth_date", "sex", "birth_place", "ins")
_REFINE = ("family_name", "given_names", "sex", "birth_date", "birth_place")


def _status_label(status: IdentityStatus, lang: str) -> str:
    return status.label_en if lang == "en" else status.label_fr


class IdentityScreen(PatientScreen):
    """INSi's identity for the chosen beneficiary, its checks, and the agent's qualification."""

    AUTO_FOCUS = None  # focus follows INSi's answer: the document check, or the search form

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("d", "document", "tui.identity.key.document"),
        ("q", "qualify", "tui.identity.key.qualify"),
        ("r", "refine", "tui.identity.key.refine"),
        ("f5", "retry", "tui.identity.key.retry"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._check: IdentityCheck | None = None
        self._busy = ""
        """What is under way (``searching``, ``qualifying``), or empty."""
        self._failure: KioskError | None = None
        """The last search failure (INSi unreachable, card swapped...)."""
        self._refusal: KioskError | None = None
        """Why the last qualification was refused."""
        self._scan: KioskError | bool | None = None
        """The last Data Matrix: True conforme, the error that refused it, or None."""
        self._rejected: KioskError | None = None
        """The last scan that could not be used (garbled, too early): it changed nothing."""
        self._scanner_off = False
        self._refining = False
        self._bad_date = False

    # -- layout ---------------------------------------------------------------

    def body(self) -> ComposeResult:
        with Vertical(id="identity"):
            yield Static(markup=False, id="identity-title", classes="title")
            yield Static(markup=False, id="identity-message", classes="message")
            with Vertical(id="identity-table"):
                with Horizontal(classes="row head"):
                    for column in ("trait", "card", "insi"):
                        yield Static(
                            markup=False, id=f"identity-head-{column}", classes=f"c-{column}"
                        )
                for row in (*_ROWS, "status"):
                    with Horizontal(id=f"identity-row-{row}", classes="row"):
                        for column in ("trait", "card", "insi"):
                            yield Static(
                                markup=False, id=f"identity-{row}-{column}", classes=f"c-{column}"
                            )
            yield Static(markup=False, id="identity-differences")
            with Vertical(id="identity-refine"):
                yield Static(markup=False, id="identity-refine-title")
                for name in _REFINE:
                    with Horizontal(classes="field"):
                        yield Static(markup=False, id=f"identity-label-{name}", classes="label")
                        yield Input(id=f"identity-input-{name}")
                yield Button(id="identity-search", variant="primary")
            yield Static(markup=False, id="identity-datamatrix")
            with Horizontal(id="identity-actions"):
                yield Checkbox(id="identity-document")
                yield Button(id="identity-qualify", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.search()

    def on_unmount(self) -> None:
        self._check = None  # nothing of the patient outlives the screen
        super().on_unmount()

    # -- actions --------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False)
    async def search(self, traits: InsiTraits | None = None) -> None:
        """INSi by the card (or by the refined traits); several identities are never picked."""
        self._check, self._failure, self._refusal = None, None, None
        self._scan, self._rejected = None, None
        self._busy = "searching"
        self._untick()
        self.render_texts()
        try:
            check = await self.admission.search_identity(traits)
        except KioskError as exc:
            self._failure = exc
            self.kiosk.show_error(exc)
        else:
            self._check = check
            self._refining = check.identity is None
            if self._refining:
                self._prefill()
        self._busy = ""
        self.render_texts()
        if self._refining:
            self.query_one("#identity-input-family_name", Input).focus()
        elif self._check is not None:
            self.query_one("#identity-document", Checkbox).focus()

    def action_retry(self) -> None:
        """Search INSi by the card again (after a failure)."""
        self._refining = False
        self.search()

    def action_refine(self) -> None:
        """Open the search by traits (from an identity document)."""
        if self._busy:
            return
        if not self._refining:
            self._refining = True
            self._prefill()
            self.render_texts()
        self.query_one("#identity-input-family_name", Input).focus()

    def action_close_refine(self) -> None:
        """Close the search by traits (Escape)."""
        if self._refining and self._check is not None and self._check.identity is not None:
            self._refining = False
            self.render_texts()

    def key_escape(self) -> None:
        self.action_close_refine()

    @on(Input.Submitted)
    @on(Button.Pressed, "#identity-search")
    def _search_traits(self) -> None:
        values = {n: self.query_one(f"#identity-input-{n}", Input).value for n in _REFINE}
        born = date_from_shown(values["birth_date"])
        self._bad_date = born is None
        if born is None:
            self.render_texts()
            return
        try:
            traits = InsiTraits.create(
                family_name=values["family_name"],
                given_names=values["given_names"],
                sex=values["sex"],
                birth_date=born,
                birth_place=values["birth_place"].strip() or None,
            )
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        self.search(traits)

    def action_document(self) -> None:
        """Tick or untick the high-trust identity document check."""
        box = self.query_one("#identity-document", Checkbox)
        if not box.disabled:
            box.toggle()

    @on(Checkbox.Changed, "#identity-document")
    def _document_changed(self, event: Checkbox.Changed) -> None:
        try:
            if event.value:
                self.admission.confirm_document()
            else:
                self.admission.withdraw_document()
        except KioskError as exc:
            self.kiosk.show_error(exc)
            self._untick()
        self._refusal = None
        self.render_texts()

    @on(Button.Pressed, "#identity-qualify")
    def action_qualify(self) -> None:
        """Qualify: on to the DMP when the service says qualified, the reason otherwise."""
        if not self._busy and self._check is not None and self._check.identity is not None:
            self.qualify()

    @work(exclusive=True, exit_on_error=False)
    async def qualify(self) -> None:
        """Store the identity; only a qualified one goes on to the DMP status."""
        self._refusal, self._busy = None, "qualifying"
        self.render_texts()
        try:
            await self.admission.qualify()
        except KioskError as exc:
            self._refusal = exc
            self._busy = ""
            self.render_texts()
            return
        self._busy = ""
        self.render_texts()
        from kiosk.tui.desk.dmp_status import DmpStatusScreen

        self.show(DmpStatusScreen(self.admission))

    def on_scan_received(self, message: ScanReceived) -> None:
        """A Data Matrix read: held against INSi's identity; a bad read changes nothing."""
        event = message.event
        if isinstance(event, ScanStatus):
            self._scanner_off = event.state is ScannerState.DISCONNECTED
        elif isinstance(event, ScanRejected):
            self.kiosk.show_error(event.error)
            self._rejected = event.error  # what the last good scan said still holds
        elif isinstance(event, ScanPayload):
            self._scan_payload(event)
        self.render_texts()

    def _scan_payload(self, event: ScanPayload) -> None:
        try:
            self.admission.scan(event.data)
        except DataMatrixMismatch as exc:
            self._scan = exc
        except KioskError as exc:
            self.kiosk.show_error(exc)  # unreadable, or before INSi: what held still holds
            self._rejected = exc
            return
        else:
            self._scan = True
        self._rejected = None

    # -- rendering ------------------------------------------------------------

    def _untick(self) -> None:
        box = self.query_one("#identity-document", Checkbox)
        with box.prevent(Checkbox.Changed):
            box.value = False

    def _prefill(self) -> None:
        chosen = self.admission.chosen
        if chosen is None:
            return
        values = {
            "family_name": chosen.family_name,
            "given_names": chosen.given_name,
            "birth_date": shown_birth_date(chosen.birth_date),
        }
        for name, value in values.items():
            field = self.query_one(f"#identity-input-{name}", Input)
            if not field.value:
                field.value = value

    def _set(self, selector: str, value: str) -> None:
        self.query_one(selector, Static).update(value)

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        check = self._check
        identity = None if check is None else check.identity
        self._set("#identity-title", text("tui.identity.title", lang))
        self._render_message(lang)
        self.query_one("#identity-table").display = identity is not None and not self._refining
        self._render_table(lang)
        self._render_differences(lang)
        refine = self.query_one("#identity-refine")
        refine.display = self._refining and not self._busy
        self._render_refine(lang)
        self._render_datamatrix(lang)
        actions = identity is not None and not self._refining
        self.query_one("#identity-actions").display = actions
        box = self.query_one("#identity-document", Checkbox)
        box.label = text("tui.identity.document", lang)
        box.disabled = bool(self._busy) or identity is None
        button = self.query_one("#identity-qualify", Button)
        button.label = text("tui.identity.qualify", lang)
        button.disabled = bool(self._busy) or identity is None

    def _render_message(self, lang: str) -> None:
        message = self.query_one("#identity-message", Static)
        check, problem = self._check, self._failure or self._refusal
        line = ""
        if self._busy == "searching":
            line = text("tui.identity.searching", lang)
        elif self._busy:
            line = text("tui.identity.qualifying", lang)
        elif self._failure is not None:
            line = text("tui.identity.search_failed", lang, reason=self._failure.message(lang))
        elif self._refusal is not None:
            line = text("tui.identity.not_qualified", lang, reason=self._refusal.message(lang))
        elif check is not None and check.must_refine:
            line = text("tui.identity.several", lang)
        elif check is not None and check.code is ResultCode.NONE:
            tried = ", ".join(check.given_names_tried) or "—"
            found = text("tui.identity.none_found", lang, tried=tried)
            line = f"{found} {text('tui.identity.none_what_to_do', lang)}"
        elif check is not None and check.identity is not None:
            line = (
                text("tui.identity.differences", lang)
                if check.card_differences
                else text("tui.identity.agree", lang)
            )
        message.update(line)
        warn = problem is not None or (check is not None and check.identity is None)
        message.set_class(warn and not self._busy, "error")
        message.set_class(bool(check and check.card_differences) and not warn, "warning")

    def _render_table(self, lang: str) -> None:
        for column in ("trait", "card", "insi"):
            self._set(f"#identity-head-{column}", text(f"tui.identity.column.{column}", lang))
        check = self._check
        identity = None if check is None else check.identity
        chosen = self.admission.chosen if self._admission is not None else None
        card = dict.fromkeys((*_ROWS, "status"), "")
        insi = dict(card)
        if chosen is not None:
            card["birth_family_name"] = chosen.family_name
            card["birth_given_names"] = chosen.given_name
            card["birth_date"] = shown_birth_date(chosen.birth_date)
        if identity is not None:
            traits = identity.traits
            insi["birth_family_name"] = traits.birth_family_name
            insi["birth_given_names"] = traits.given_names_joined
            insi["birth_date"] = traits.birth_date.strftime("%d/%m/%Y")
            insi["sex"] = traits.sex.value
            insi["birth_place"] = traits.birth_place
            insi["ins"] = "" if identity.ins is None else identity.ins.matricule.masked()
            insi["status"] = _status_label(identity.status, lang)
        differing = {d.trait.value for d in check.card_differences} if check else set()
        for row in (*_ROWS, "status"):
            # The card has no sex, birth place or INS: a dash, not a blank that looks unread.
            mark = "≠ " if row in differing else ""
            self._set(f"#identity-{row}-trait", mark + text(f"tui.identity.trait.{row}", lang))
            self._set(f"#identity-{row}-card", card[row] or "—" * (row != "status"))
            self._set(f"#identity-{row}-insi", insi[row])
            self.query_one(f"#identity-row-{row}").set_class(row in differing, "differs")

    def _render_differences(self, lang: str) -> None:
        check = self._check
        lines = []
        if check is not None and check.identity is not None and not self._refining:
            for difference in check.card_differences:
                trait = text(f"tui.identity.trait.{difference.trait.value}", lang)
                why = difference.why.text(lang)
                lines.append(text("tui.identity.difference", lang, trait=trait, why=why))
        shown = self.query_one("#identity-differences", Static)
        shown.update("\n".join(lines))
        shown.display = bool(lines)

    def _render_refine(self, lang: str) -> None:
        self._set("#identity-refine-title", text("tui.identity.refine.title", lang))
        for name in _REFINE:
            label = text(f"tui.identity.refine.{name}", lang)
            self._set(f"#identity-label-{name}", label)
            self.query_one(f"#identity-input-{name}", Input).placeholder = label
        self.query_one("#identity-search", Button).label = text("tui.identity.refine.search", lang)
        if self._bad_date:
            self._set("#identity-refine-title", text("tui.identity.refine.bad_date", lang))
        self.query_one("#identity-refine-title").set_class(self._bad_date, "error")

    def _render_datamatrix(self, lang: str) -> None:
        shown = self.query_one("#identity-datamatrix", Static)
        scan = self._scan
        rejected = self._rejected
        if isinstance(scan, DataMatrixMismatch):
            names = [text("tui.identity.trait.ins", lang)] * scan.ins_differs + [
                text(f"tui.identity.trait.{d.trait.value}", lang) for d in scan.differences
            ]
            line = text("tui.identity.datamatrix.mismatch", lang, traits=", ".join(names))
        elif scan is True:
            line = text("tui.identity.datamatrix.ok", lang)
        else:
            line = text("tui.identity.datamatrix.none", lang)
        if rejected is not None:
            reason = rejected.message(lang)
            line = f"{line}\n{text('tui.identity.datamatrix.rejected', lang, reason=reason)}"
        if self._scanner_off:
            line = f"{line} {text('tui.identity.datamatrix.scanner_off', lang)}"
        shown.update(line)
        shown.display = self._check is not None and self._check.identity is not None
        shown.set_class(isinstance(scan, DataMatrixMismatch) or rejected is not None, "error")
        shown.set_class(scan is True and rejected is None, "ok")
