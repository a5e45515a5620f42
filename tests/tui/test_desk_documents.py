"""The documents screen on the real simulated stack: send a PDF held from the patient,
release it, delete it (seed 000: three populations, the author deletes; seed 001: a
result held until the consultation d'annonce, then released)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select, Switch

from kiosk.services.admission import Admission
from kiosk.tui.app import KioskApp
from kiosk.tui.desk.documents import DocumentsScreen
from kiosk.tui.desk.summary import SummaryScreen
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import created, desk_services, dmp_record, sim_world
from tests.tui.world import WorldApp, on_screen, press, qualified_admission, settle, shown

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

SIZE = (100, 30)
ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def _created(app: KioskApp, pilot: Pilot[None]) -> Admission:
    return await created(await qualified_admission(app, pilot))


async def test_a_letter_is_sent_held_from_the_patient_released_then_deleted(
    desk_services: Services, tmp_path: Path
) -> None:
    services = desk_services
    letter = tmp_path / "lettre.pdf"
    letter.write_bytes(PDF)
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _created(app, pilot)
        await app.push_screen(SummaryScreen(admission))
        await on_screen(pilot, app, SummaryScreen)
        await press(app, pilot, "f9")
        await on_screen(pilot, app, DocumentsScreen)
        assert "Aucun document" in shown(app, "#documents-empty")

        screen = app.screen
        screen.query_one("#documents-path", Input).value = str(letter)
        screen.query_one("#documents-type", Select).value = "discharge_summary"
        screen.query_one("#documents-hide-patient", Switch).value = True
        await press(app, pilot, "f5")
        assert "le DMP l'a enregistré" in shown(app, "#documents-outcome")
        (stored,) = (await dmp_record(services, ADULT_NIR))["documents"]
        assert stored["type_code"] == "11490-0"
        assert "INVISIBLE_PATIENT" in str(stored)
        table: Any = screen.query_one("#documents-table")
        assert [str(c) for c in table.get_row_at(0)][-1] == "patient"

        await press(app, pilot, "f6")  # released after the consultation d'annonce
        assert [str(c) for c in table.get_row_at(0)][-1] == "—"
        (stored,) = (await dmp_record(services, ADULT_NIR))["documents"]
        assert "INVISIBLE_PATIENT" not in str(stored)

        await press(app, pilot, "f8")
        assert "Aucun document" in shown(app, "#documents-empty")
        (stored,) = (await dmp_record(services, ADULT_NIR))["documents"]
        assert stored["status"] == "Deleted"
        await press(app, pilot, "escape")
        await on_screen(pilot, app, SummaryScreen)


async def test_a_file_that_is_not_a_pdf_is_refused_on_screen(
    desk_services: Services, tmp_path: Path
) -> None:
    services = desk_services
    photo = tmp_path / "photo.pdf"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n")
    app = KioskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        admission = await _created(app, pilot)
        await app.push_screen(DocumentsScreen(admission))
        await on_screen(pilot, app, DocumentsScreen)
        app.screen.query_one("#documents-path", Input).value = str(photo)
        app.screen.query_one("#documents-type", Select).value = "laboratory_report"
        await press(app, pilot, "f5")
        assert "pas un PDF" in shown(app, "#documents-outcome")
        (refusal,) = list(app._notifications)
        assert "DOCUMENT_INVALID" in str(refusal.title)
    assert (await dmp_record(services, ADULT_NIR))["documents"] == []


def test_the_documents_screen_snapshot(snap_compare: Any, sim_world: Path) -> None:
    app = WorldApp(sim_world, "fr")

    async def run_before(pilot: Pilot[None]) -> None:
        admission = await _created(app, pilot)
        await app.push_screen(DocumentsScreen(admission))
        await on_screen(pilot, app, DocumentsScreen)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
