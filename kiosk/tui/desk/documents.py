"""The patient's documents at the desk: send a PDF, hide or release one, delete, withdraw.

Seed 000: visibility for three populations, deletion by the author alone, a document
sent to the wrong DMP withdrawn (TD3.3c); seed 001: a result held from the patient until
the consultation d'annonce, then released. Reached with F9 from the summary once the
patient's DMP is there (created or ours). The list is what this establishment sent
(:meth:`DocumentDesk.documents`); every action is one service call in a worker, queued
in the outbox and sent at once when the DMP answers. A refusal — not a PDF, an unknown
file, the habilitation table, the DMP — is shown with its reason, nothing changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Select, Static, Switch

from kiosk.domain.visibility import Visibility
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.desk.patient import PatientScreen

if TYPE_CHECKING:
    from kiosk.records.record import SentDocument
    from kiosk.services.admission import Admission
    from kiosk.services.documents import DocumentDesk, QueuedWrite

__all__ = ["DocumentsScreen"]

_POPULATIONS = ("patient", "legal_representatives", "professionals")
"""The populations in the order the screen shows them (the patient's first)."""
_COLUMNS = ("type", "title", "sent", "hidden")


class DocumentsScreen(PatientScreen):
    """A table of the documents sent, a form to send one, a key per action."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f5", "send", "tui.documents.send_key"),
        ("f6", "toggle_patient", "tui.documents.toggle_key"),
        ("f7", "misfiled", "tui.documents.misfiled_key"),
        ("f8", "delete", "tui.documents.delete_key"),
        ("escape", "back", "tui.documents.back_key"),
    )

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._documents: tuple[SentDocument, ...] = ()
        self._outcome = ""
        self._busy = False
        self._service: DocumentDesk | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="documents", classes="enrol"):
            yield Static(markup=False, id="documents-title", classes="title")
            table: DataTable[Text] = DataTable(id="documents-table", cursor_type="row")
            yield table
            yield Static(markup=False, id="documents-empty", classes="enrol-text")
            with Horizontal(classes="documents-form"):
                yield Input(id="documents-path")
                yield Select[str]([], id="documents-type", allow_blank=True)
            with Horizontal(classes="documents-hide"):
                for name in _POPULATIONS:
                    yield Switch(value=False, id=f"documents-hide-{name}")
                    yield Static(markup=False, id=f"documents-hide-{name}-label")
            yield Input(id="documents-reason")
            yield Static(markup=False, id="documents-outcome", classes="enrol-ask")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#documents-path", Input).focus()
        self.refresh_list()

    def _desk(self) -> DocumentDesk:
        """The agent's document desk, asked for once (the screen goes with the session)."""
        if self._service is None:
            self._service = self.desk.documents()
        return self._service

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#documents-title", Static).update(text("tui.documents.title", lang))
        self.query_one("#documents-path", Input).placeholder = text("tui.documents.path", lang)
        self.query_one("#documents-reason", Input).placeholder = text("tui.documents.reason", lang)
        kinds: Select[str] = self.query_one("#documents-type", Select)
        chosen = kinds.value
        kinds.set_options(
            (text(f"tui.documents.type.{key}", lang), key) for key in self.desk.document_types()
        )
        kinds.prompt = text("tui.documents.type_prompt", lang)
        if isinstance(chosen, str):
            kinds.value = chosen
        for name in _POPULATIONS:
            self.query_one(f"#documents-hide-{name}-label", Static).update(
                text(f"tui.documents.hide.{name}", lang)
            )
        self._fill(lang)
        self.query_one("#documents-outcome", Static).update(
            text("tui.documents.wait", lang) if self._busy else self._outcome
        )

    def _fill(self, lang: str) -> None:
        table: DataTable[Text] = self.query_one("#documents-table", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.display = bool(self._documents)
        self.query_one("#documents-empty", Static).update(
            "" if self._documents else text("tui.documents.none", lang)
        )
        if not self._documents:
            return
        for column in _COLUMNS:
            table.add_column(text(f"tui.documents.column.{column}", lang), key=column)
        for document in self._documents:
            hidden = [
                text(f"tui.documents.hidden.{name}", lang)
                for name in _POPULATIONS
                if name in document.visibility.hidden_from()
            ]
            table.add_row(
                Text(document.type_code),
                Text(document.title),
                Text(f"{document.sent_at.astimezone():%d/%m/%Y %H:%M}"),
                Text(", ".join(hidden) or "—"),
            )
        table.move_cursor(row=min(row, len(self._documents) - 1))

    def _selected(self) -> SentDocument | None:
        table: DataTable[Text] = self.query_one("#documents-table", DataTable)
        if not self._documents or table.cursor_row < 0:
            return None
        return self._documents[min(table.cursor_row, len(self._documents) - 1)]

    @work(exclusive=True, exit_on_error=False)
    async def refresh_list(self) -> None:
        """One call: what this establishment sent for the patient."""
        patient = self.admission.patient
        if patient is None:
            return
        try:
            self._documents = await self._desk().documents(patient)
        except KioskError as exc:
            self.kiosk.show_error(exc)
        self.render_texts()

    def action_send(self) -> None:
        """Send the PDF of the path field as the type chosen, hidden as the switches say."""
        if not self._busy:
            self.send()

    def action_toggle_patient(self) -> None:
        """Hide the selected document from the patient, or show it to them again."""
        if not self._busy and self._selected() is not None:
            self.toggle_patient()

    def action_delete(self) -> None:
        """Delete the selected document (its author's right)."""
        if not self._busy and self._selected() is not None:
            self.delete()

    def action_misfiled(self) -> None:
        """Withdraw the selected document from this DMP, with the reason typed."""
        if not self._busy and self._selected() is not None:
            self.misfiled()

    def action_back(self) -> None:
        """Back to the summary."""
        self.dismiss_to_summary()

    def dismiss_to_summary(self) -> None:
        """Leave the documents: the screen below (the summary) shows again."""
        self.app.pop_screen()

    @work(exclusive=True, exit_on_error=False)
    async def send(self) -> None:
        """One call: the PDF queued (and sent when online)."""
        patient = self.admission.patient
        path = self.query_one("#documents-path", Input).value.strip()
        kind = self.query_one("#documents-type", Select).value
        if patient is None:
            return
        visibility = Visibility.hiding(
            n for n in _POPULATIONS if self.query_one(f"#documents-hide-{n}", Switch).value
        )
        sent = await self._write(
            self._desk().submit_file(
                patient,
                Path(path),  # the service expands ~ and checks the size first
                kind if isinstance(kind, str) else "",
                visibility=visibility,
            )
        )
        if sent:
            self.query_one("#documents-path", Input).value = ""

    @work(exclusive=True, exit_on_error=False)
    async def toggle_patient(self) -> None:
        """One call: the patient's visibility of the selected document, switched."""
        patient, document = self.admission.patient, self._selected()
        if patient is None or document is None:
            return
        shown = document.visibility
        wanted = dataclasses.replace(shown, patient=not shown.patient)
        await self._write(self._desk().set_visibility(patient, document, wanted))

    @work(exclusive=True, exit_on_error=False)
    async def delete(self) -> None:
        """One call: the selected document deleted."""
        patient, document = self.admission.patient, self._selected()
        if patient is None or document is None:
            return
        await self._write(self._desk().delete(patient, document))

    @work(exclusive=True, exit_on_error=False)
    async def misfiled(self) -> None:
        """One call: the selected document withdrawn, with the reason typed."""
        patient, document = self.admission.patient, self._selected()
        if patient is None or document is None:
            return
        reason = self.query_one("#documents-reason", Input).value
        await self._write(self._desk().wrong_patient(patient, document, reason))

    async def _write(self, call: Awaitable[QueuedWrite]) -> bool:
        """Await the one service call; its outcome shown. Whether it was accepted."""
        lang = self.kiosk.lang
        self._busy = True
        self.render_texts()
        try:
            done = await call
        except KioskError as exc:
            self._outcome = exc.message(lang)
            self.kiosk.show_error(exc)
            return False
        else:
            self._outcome = text(
                f"tui.documents.outcome.{done.delivery.value}", lang, code=done.error or "?"
            )
            patient = self.admission.patient
            if patient is not None:
                self._documents = await self._desk().documents(patient)
        finally:
            self._busy = False
            self.render_texts()
        return True
