"""The Vitale card's beneficiaries: the agent picks the patient, then the identity check starts.

On mount the card is read in a worker (:meth:`Admission.read_card`); each beneficiary
is a row (name, birth date as a date, birth rank, quality) the agent picks with the
arrow keys and Enter. A card that cannot be read gives its reason and what to do
(pull it, check it, read it again with R), never a traceback: the screen stays and
the key reads the card again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from kiosk.domain.vitale import Beneficiary, shown_birth_date
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["BeneficiariesScreen"]

_COLUMNS = ("family_name", "given_name", "birth_date", "birth_rank", "quality")
_QUALITIES = frozenset({"insured", "spouse", "child", "unknown"})


def quality_text(person: Beneficiary, lang: str) -> str:
    """The beneficiary's quality in ``lang``; a code the card gives but we do not name, as is."""
    label = person.quality_label
    if label in _QUALITIES:
        return text(f"tui.beneficiaries.quality.{label}", lang)
    return text("tui.beneficiaries.quality.other", lang, code=label)


class BeneficiariesScreen(PatientScreen):
    """The people on the Vitale card; Enter on one starts the identity check for them."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("r", "reread", "tui.beneficiaries.key.reread"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._people: tuple[Beneficiary, ...] | None = None
        self._error: KioskError | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="beneficiaries"):
            yield Static(markup=False, id="beneficiaries-title", classes="title")
            yield Static(markup=False, id="beneficiaries-message", classes="prompt")
            table: DataTable[Text] = DataTable(id="beneficiaries-table", cursor_type="row")
            yield table
            yield Static(markup=False, id="beneficiaries-help", classes="help")

    def on_mount(self) -> None:
        super().on_mount()
        self.read()

    def on_unmount(self) -> None:
        self._people = None  # nothing of the patient outlives the screen
        super().on_unmount()

    def action_reread(self) -> None:
        """Read the card again (after a failed read, or to start over)."""
        self.read()

    @work(exclusive=True, exit_on_error=False)
    async def read(self) -> None:
        """Read the card; the rows or the reason it failed."""
        self._people, self._error = None, None
        self.render_texts()
        try:
            self._people = await self.admission.read_card()
        except KioskError as exc:
            self._error = exc
            self.kiosk.show_error(exc)
        self.render_texts()
        if self._people:
            self.query_one("#beneficiaries-table", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.pick(event.cursor_row)

    def pick(self, index: int) -> None:
        """The agent chose beneficiary ``index``: on to their identity."""
        from kiosk.tui.desk.identity import IdentityScreen

        try:
            self.admission.choose(index)
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        self.show(IdentityScreen(self.admission))

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#beneficiaries-title", Static).update(text("tui.beneficiaries.title", lang))
        message = self.query_one("#beneficiaries-message", Static)
        help_line = self.query_one("#beneficiaries-help", Static)
        table: DataTable[Text] = self.query_one("#beneficiaries-table", DataTable)
        message.set_class(self._error is not None, "error")
        if self._error is not None:
            reason = self._error.message(lang)
            message.update(text("tui.beneficiaries.read_failed", lang, reason=reason))
            help_line.update(text("tui.beneficiaries.what_to_do", lang))
        elif self._people is None:
            message.update(text("tui.beneficiaries.reading", lang))
            help_line.update("")
        elif not self._people:
            message.update(text("tui.beneficiaries.empty", lang))
            help_line.update("")
        else:
            message.update(text("tui.beneficiaries.prompt", lang))
            help_line.update("")
        self._fill(table, lang)

    def _fill(self, table: DataTable[Text], lang: str) -> None:
        row = table.cursor_row
        table.clear(columns=True)
        people = self._people or ()
        table.display = bool(people)
        if not people:
            return
        for column in _COLUMNS:
            table.add_column(text(f"tui.beneficiaries.column.{column}", lang), key=column)
        for person in people:
            rank = "—" if person.birth_rank is None else str(person.birth_rank)
            table.add_row(
                Text(person.family_name),
                Text(person.given_name),
                Text(shown_birth_date(person.birth_date)),
                Text(rank),
                Text(quality_text(person, lang)),
            )
        table.move_cursor(row=min(row, len(people) - 1))
