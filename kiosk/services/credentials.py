"""The enrolment's printer port over the session's print queue: the web account receipt.

The receipt shows the patient's first name and initial, the web account identifier,
the temporary password and the portal address (ARCHITECTURE.md §8). It is rendered
only when the patient asks (:meth:`EnrolmentFlow.print_credentials`), kept in the
session's :class:`~kiosk.printing.queue.PrintQueue` so that a paper jam can be
reprinted, and leaves memory when the session's queue is wiped. Rendering (Pillow,
~10 ms) runs off the event loop.
"""

from __future__ import annotations

import asyncio

from kiosk.clock import Clock, uuid7
from kiosk.dmp.transactions import WebCredentials
from kiosk.printing.ports import JobKind, PrintJob
from kiosk.printing.profiles import PrinterProfile
from kiosk.printing.queue import PrintQueue

__all__ = ["ReceiptPrinter"]


class ReceiptPrinter:
    """Renders the credentials receipt for one patient and hands it to the print queue."""

    def __init__(
        self,
        queue: PrintQueue,
        profile: PrinterProfile,
        clock: Clock,
        *,
        establishment: str,
        portal_url: str,
        first_name: str,
        family_name: str,
        lang: str = "fr",
    ) -> None:
        self._queue = queue
        self._profile = profile
        self._clock = clock
        self._establishment = establishment
        self._portal = portal_url
        self._first = first_name
        self._family = family_name
        self._lang = lang

    def __repr__(self) -> str:
        return f"ReceiptPrinter(establishment={self._establishment!r}, …)"

    def _job(self, credentials: WebCredentials) -> PrintJob:
        # The renderer (Pillow, NumPy, the QR and Data Matrix encoders: ~60 ms and
        # ~20 MiB) loads with the first receipt, in its worker thread, not at start.
        from kiosk.printing.receipt import ReceiptContent, print_job, receipt_layout

        content = ReceiptContent(
            establishment=self._establishment,
            printed_at=self._clock.now(),
            first_name=self._first,
            family_name=self._family,
            account_id=credentials.identifier,
            temporary_password=credentials.temporary_password,
            portal_url=self._portal,
            lang=self._lang,
        )
        return print_job(
            f"receipt-{uuid7(self._clock)}", JobKind.RECEIPT, receipt_layout(content), self._profile
        )

    async def print_credentials(self, credentials: WebCredentials) -> None:
        """Render and print; a printer error leaves the job queued for a reprint."""
        job = await asyncio.to_thread(self._job, credentials)
        await self._queue.submit(job)
