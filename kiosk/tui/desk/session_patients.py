"""The patients of this session the agent may come back to: reprint, or the step left.

F6 on the desk's home. One row per admission the desk set aside
(:meth:`kiosk.services.desk.Desk.session_patients`: a DMP created or queued, an
authorization given, a web account opened), the latest first: the name as the agent
saw it, where it stands, whether the credentials were printed. Enter reopens it
(:meth:`Desk.reopen`) on its summary, where the web account and the receipt are one
key away. The list lives only as long as the session: the app drops this screen
when the session ends, and the desk wipes what it kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.services.desk import SessionPatient

__all__ = ["SessionPatientsScreen"]

_COLUMNS = ("name", "stage", "printed")


class SessionPatientsScreen(KioskScreen):
    """This session's admissions; Enter on one reopens it."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("escape", "back", "tui.session_patients.key_back"),
    )

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[SessionPatient] = []

    def body(self) -> ComposeResult:
        with Vertical(id="session-patients"):
            yield Static(markup=False, id="session-patients-title", classes="title")
            yield Static(markup=False, id="session-patients-message", classes="prompt")
            table: DataTable[Text] = DataTable(id="session-patients-table", cursor_type="row")
            yield table

    def on_mount(self) -> None:
        self._rows = self.kiosk.services.desk.session_patients()
        self.render_texts()
        self.query_one("#session-patients-table", DataTable).focus()

    def on_unmount(self) -> None:
        self._rows = []  # the names go with the screen

    def action_back(self) -> None:
        """Back to the desk's home."""
        self.dismiss()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self._rows):
            self.reopen(self._rows[event.cursor_row].index)

    @work(exclusive=True, exit_on_error=False)
    async def reopen(self, index: int) -> None:
        """The one service call: the admission back at the desk, on its summary."""
        from kiosk.tui.desk.summary import SummaryScreen

        try:
            admission = await self.kiosk.services.desk.reopen(index)
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        self.replace_with(SummaryScreen(admission))

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#session-patients-title", Static).update(
            text("tui.session_patients.title", lang)
        )
        message = "prompt" if self._rows else "empty"
        self.query_one("#session-patients-message", Static).update(
            text(f"tui.session_patients.{message}", lang)
        )
        table: DataTable[Text] = self.query_one("#session-patients-table", DataTable)
        table.clear(columns=True)
        table.display = bool(self._rows)
        for column in _COLUMNS:
            table.add_column(text(f"tui.session_patients.column.{column}", lang), key=column)
        yes, no = text("tui.consent.yes", lang), text("tui.consent.no", lang)
        for row in self._rows:
            table.add_row(
                Text(row.name),
                Text(text(f"tui.session_patients.stage.{row.stage.value}", lang)),
                Text(yes if row.printed else no),
            )
