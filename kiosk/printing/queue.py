"""The session's print queue: every job is kept until the session ends, printed or not.

A credentials receipt exists once: the DMP gives the temporary password at creation
(DOMAIN.md §1). So a job is stored *before* it is sent, stays after a failure, and can
be printed again (``reprint``) until the session is closed, which wipes the queue
from memory. Asking for a reprint from the CLI (``kiosk print last --reprint``) needs
an agent session; the session service owns one queue and checks who asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.clock import Clock
from kiosk.errors import NotFound, PrinterError
from kiosk.locale import msg
from kiosk.printing.ports import JobKind, PrintJob, ReceiptPrinter

__all__ = ["PrintQueue", "QueuedJob"]


@dataclass
class QueuedJob:
    """A job and what happened to it."""

    job: PrintJob
    queued_at: datetime
    attempts: int = 0
    printed: bool = False
    last_error: PrinterError | None = None


class PrintQueue:
    """Jobs of one session, oldest first; failed jobs are never dropped."""

    def __init__(self, printer: ReceiptPrinter, clock: Clock, *, keep: int = 20) -> None:
        self._printer = printer
        self._clock = clock
        self._keep = keep
        self._jobs: list[QueuedJob] = []

    async def submit(self, job: PrintJob) -> QueuedJob:
        """Keep ``job``, then print it; a :class:`PrinterError` leaves it queued for reprint."""
        entry = QueuedJob(job, self._clock.now())
        self._jobs.append(entry)
        self._trim()
        await self._attempt(entry)
        return entry

    async def reprint(self, job_id: str | None = None) -> QueuedJob:
        """Print a kept job again: ``job_id``, or the last receipt when None."""
        entry = self.find(job_id) if job_id else self.last(JobKind.RECEIPT)
        if entry is None:
            raise NotFound(
                msg("printing.queue.print_queue_reprint"),
            )
        await self._attempt(entry)
        return entry

    def find(self, job_id: str) -> QueuedJob | None:
        """The kept job with this id."""
        return next((e for e in self._jobs if e.job.job_id == job_id), None)

    def last(self, kind: JobKind | None = None) -> QueuedJob | None:
        """The most recent job, of ``kind`` if given."""
        matching = [e for e in self._jobs if kind is None or e.job.kind is kind]
        return matching[-1] if matching else None

    def pending(self) -> list[QueuedJob]:
        """Jobs whose last attempt failed (or never ran)."""
        return [e for e in self._jobs if not e.printed]

    def jobs(self) -> list[QueuedJob]:
        """Every kept job, oldest first."""
        return list(self._jobs)

    def wipe(self) -> None:
        """Forget every job: the session ended, the credentials leave memory."""
        self._jobs.clear()

    async def _attempt(self, entry: QueuedJob) -> None:
        entry.attempts += 1
        try:
            await self._printer.print(entry.job)
        except PrinterError as exc:
            entry.last_error = exc
            raise
        entry.printed = True
        entry.last_error = None

    def _trim(self) -> None:
        # Drop the oldest *printed* jobs beyond ``keep``; an unprinted one is never dropped.
        while len(self._jobs) > self._keep:
            printed = next((e for e in self._jobs if e.printed), None)
            if printed is None:
                break
            self._jobs.remove(printed)
