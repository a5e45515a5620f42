"""What the product asks of a receipt printer, and the printer states it can report.

Printers speak ESC/POS; the real-time status query ``DLE EOT n`` answers one byte per
``n`` (1 printer, 2 offline cause, 4 roll paper sensor). Bit meanings follow the
Epson ESC/POS reference, which the common 58/80 mm clones implement; bits 1 and 4
are fixed to 1 and bit 7 to 0, which lets us refuse a byte that is not a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

__all__ = [
    "UNKNOWN_STATUS",
    "JobKind",
    "PrintJob",
    "PrinterStatus",
    "ReceiptPrinter",
    "parse_status",
]


class JobKind(Enum):
    """What a job prints; receipts carry credentials, the others do not."""

    RECEIPT = "receipt"
    LABEL = "label"
    TEST = "test"
    TICKET = "ticket"
    """The self-service kiosk's route-to-desk ticket (a reason code, no personal data)."""


@dataclass(frozen=True)
class PrintJob:
    """ESC/POS bytes ready to send, with the PNG preview of the same rendering."""

    job_id: str
    kind: JobKind
    escpos: bytes = field(repr=False)
    png: bytes = field(repr=False)
    width_dots: int

    def __repr__(self) -> str:
        # The bytes draw a temporary password: never let them reach a log.
        return f"PrintJob(job_id={self.job_id!r}, kind={self.kind.value}, bytes={len(self.escpos)})"


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's own report; ``known`` is False when it does not answer status queries."""

    known: bool = True
    online: bool = True
    paper_out: bool = False
    paper_low: bool = False
    cover_open: bool = False

    @property
    def ready(self) -> bool:
        """True unless the printer said something prevents printing."""
        return not self.known or (self.online and not self.paper_out and not self.cover_open)

    def as_dict(self) -> dict[str, bool]:
        """A JSON-friendly view for ``--json`` outputs."""
        return {
            "known": self.known,
            "online": self.online,
            "paper_out": self.paper_out,
            "paper_low": self.paper_low,
            "cover_open": self.cover_open,
            "ready": self.ready,
        }


UNKNOWN_STATUS = PrinterStatus(known=False)


def _is_status_byte(value: int) -> bool:
    return value & 0b1001_0010 == 0b0001_0010


def parse_status(printer: int, offline: int, paper: int) -> PrinterStatus:
    """Decode the answers to ``DLE EOT 1``, ``DLE EOT 2`` and ``DLE EOT 4``."""
    if not all(_is_status_byte(b) for b in (printer, offline, paper)):
        return PrinterStatus(known=False)
    paper_out = bool(paper & 0x60) or bool(offline & 0x20)
    return PrinterStatus(
        known=True,
        online=not printer & 0x08,
        cover_open=bool(offline & 0x04),
        paper_out=paper_out,
        paper_low=bool(paper & 0x0C) and not paper_out,
    )


class ReceiptPrinter(Protocol):
    """A printer that takes ready-made jobs; raises ``PrinterError`` when it cannot print."""

    async def print(self, job: PrintJob) -> None:
        """Send the job; returns once the printer took all of it and reported no fault."""
        ...

    async def status(self) -> PrinterStatus:
        """Ask the printer how it is; unknown when it does not answer."""
        ...
