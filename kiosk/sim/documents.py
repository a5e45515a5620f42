"""Sample PDFs for the demo's documents screen: fictitious letters, drawn when the world starts.

The desk sends a PDF the agent names by its path (a USB key, a shared folder); in the
demo these wait in ``<state_dir>/documents/`` (``facts["documents_dir"]``). Each is a
one-page PDF drawn with Pillow, marked as fictitious, naming no one.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.sim.component import WorldHost

__all__ = ["SAMPLES", "DocumentsComponent", "write_samples"]

SAMPLES: dict[str, tuple[str, ...]] = {
    "lettre-de-liaison.pdf": (
        "Lettre de liaison à la sortie",
        "DOCUMENT FICTIF - démonstration du kiosque",
        "Aucune donnée de santé réelle.",
    ),
    "cr-biologie.pdf": (
        "Compte rendu de biologie médicale",
        "DOCUMENT FICTIF - démonstration du kiosque",
        "À masquer au patient jusqu'à la consultation d'annonce (F6).",
    ),
}
"""File name → the lines drawn on its page."""


def write_samples(directory: Path) -> list[Path]:
    """Draw every sample into ``directory``; the paths written."""
    from PIL import Image, ImageDraw

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, lines in SAMPLES.items():
        page = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
        draw = ImageDraw.Draw(page)
        for row, line in enumerate(lines):
            draw.text((120, 160 + row * 60), line, fill=0)
        path = directory / name
        page.save(path, "PDF", resolution=150.0)
        written.append(path)
    return written


class DocumentsComponent:
    """``SimComponent`` of the sample documents; publishes ``facts["documents_dir"]``."""

    name = "documents"

    def __init__(self) -> None:
        self._directory: Path | None = None

    def start(self, world: WorldHost) -> None:
        """Write the samples under the world's state directory."""
        self._directory = world.state_dir / "documents"
        write_samples(self._directory)
        world.facts["documents_dir"] = str(self._directory)

    def stop(self) -> None:
        """The files stay with the world's directory."""

    def describe(self) -> list[str]:
        """Where the samples are, to type on the documents screen (F9 from the summary)."""
        where = self._directory or Path("-")
        return [f"sample PDFs: {', '.join(str(where / name) for name in SAMPLES)}"]
