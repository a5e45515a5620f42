"""The Vitale card's beneficiaries: the agent picks the patient, then the identity check starts.

On mount the card is read in a worker (:meth:`Admission.read_card`); each beneficiary
is a row (name, birth date as a date, birth rank, quality) under a line of column
titles, which the agent picks with the arrow keys and Enter, or a click. The rows are
an :class:`~textual.widgets.OptionList`, which lays out its lines as soon as they are
added: a ``DataTable`` measures its rows only when its queue falls idle, which kept
the card's people off the screen for three more frames (~40 ms here) after they
were read. A card that cannot be read gives its reason and what to do
(pull it, check it, read it again with R), never a traceback: the screen stays and
the key reads the card again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static

from kiosk.domain.vitale import Beneficiary, shown_birth_date
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["BeneficiariesScreen"]

_COLUMNS = ("family_name", "given_name", "birth_date", "birth_rank", "quality")
_QUALITIES = frozenset({"insured", "spouse", "child", "unknown"})
_GAP = "  "


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
            yield Static(markup=False, id="beneficiaries-columns")
            yield OptionList(id="beneficiaries-list")
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
            self.query_one("#beneficiaries-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#beneficiaries-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option_index)

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
        self._fill(lang)

    def _fill(self, lang: str) -> None:
        rows = self.query_one("#beneficiaries-list", OptionList)
        columns = self.query_one("#beneficiaries-columns", Static)
        highlighted = rows.highlighted or 0
        rows.clear_options()
        people = self._people or ()
        rows.display = columns.display = bool(people)
        if not people:
            columns.update("")
            return
        titles = [text(f"tui.beneficiaries.column.{column}", lang) for column in _COLUMNS]
        cells = [_cells(person, lang) for person in people]
        columns_of = zip(titles, *cells, strict=True)
        widths = [max(cell_len(value) for value in column) for column in columns_of]
        columns.update(Text(_line(titles, widths), style="bold"))
        rows.add_options(Text(_line(row, widths)) for row in cells)
        rows.highlighted = min(highlighted, len(people) - 1)


def _cells(person: Beneficiary, lang: str) -> list[str]:
    """One beneficiary's cells, in the order of :data:`_COLUMNS`."""
    rank = "—" if person.birth_rank is None else str(person.birth_rank)
    return [
        person.family_name,
        person.given_name,
        shown_birth_date(person.birth_date),
        rank,
        quality_text(person, lang),
    ]


def _line(values: list[str], widths: list[int]) -> str:
    """``values`` each padded to its column's width (in terminal cells), the last one bare."""
    pairs = zip(values, widths, strict=True)
    padded = [value + " " * (width - cell_len(value)) for value, width in pairs]
    return _GAP.join(padded).rstrip()
