"""The demo's sample letters: PDFs the desk's documents screen accepts."""

from __future__ import annotations

from pathlib import Path

from kiosk.services.documents import MAX_PDF_BYTES
from kiosk.sim.documents import SAMPLES, write_samples
from kiosk.sim.world import default_components


def test_the_demos_sample_letters_are_pdfs_the_desk_accepts(tmp_path: Path) -> None:
    written = write_samples(tmp_path)
    assert sorted(p.name for p in written) == sorted(SAMPLES)
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"%PDF-")
        assert len(data) < MAX_PDF_BYTES


def test_the_demo_world_writes_them() -> None:
    assert "documents" in [component.name for component in default_components()]
