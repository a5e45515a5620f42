"""The sync worker: outbox → service, rate-limited, idempotent, never losing a row.

Rules (ARCHITECTURE.md §6, issue 8, DOMAIN.md §1 load etiquette):

* Leases. A taken row is ``in_flight`` until ``lease_expires_at``; an expired lease
  returns it to pending. A worker holds an exclusive lock file beside the database,
  so the one that starts after a crash knows every in-flight row is orphaned and
  requeues them at once (:meth:`SyncWorker.claim`).
* Rate. Starts of sends are spaced at least ``1 / rate`` apart, measured on the
  monotonic clock from the previous *actual* start: a token bucket of capacity one,
  so no 1 s window ever holds more than ``rate`` sends. ``rate`` is the site's
  ≤ 5 tx/s per establishment + software times this kiosk's share.
* Failures. A permanent fault sends the row to dead letters with its code. A fault
  the service answered counts against the row: exponential backoff with full jitter
  (``uniform(0, min(cap, base·2^n))``, injected RNG), dead after ``max_faults``. A
  failure the service did not answer (network down, response lost) is not the row's
  fault: the row keeps its place and is due again at once, the *worker* backs off,
  then probes with the oldest row. Resends carry the same idempotency key, so a
  lost response never becomes a failure or a second document.
* Integrity. Before sending, the payload must open under the device key and its
  detached signature must verify against the stored certificate; otherwise the row
  goes to dead letters as "signature invalid" and is never sent. A device key that
  fails (a token pulled) is not the row's fault: the worker backs off as offline.
* Poison rows. A row in flight when a worker died counts a crash and waits a backoff
  before its next try, so the rows behind it are not held up; after ``max_crashes`` it
  goes to dead letters as ``WORKER_CRASH`` rather than killing every worker after it.
* Bulk kinds wait for the off-hours window (site local time).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from kiosk.clock import Clock
from kiosk.errors import KioskError, SoapFault, StorageError, Unavailable
from kiosk.locale import msg
from kiosk.outbox.admin import OutboxStatus
from kiosk.outbox.file import signed_bytes
from kiosk.outbox.lease import WORKER_CRASH, LeasedRow
from kiosk.outbox.ports import (
    OutboxItem,
    OutboxSender,
    PayloadTampered,
    PermanentSendError,
    TransientSendError,
)
from kiosk.outbox.store import OutboxStore
from kiosk.signing import verify_signature

__all__ = [
    "SIGNATURE_INVALID",
    "RateLimiter",
    "Step",
    "SyncPolicy",
    "SyncReport",
    "SyncWorker",
    "WorkerLock",
    "issued_by",
]

log = logging.getLogger(__name__)

SIGNATURE_INVALID = "SIGNATURE_INVALID"
"""The dead-letter code of a row whose payload or signature does not verify."""

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class SyncPolicy:
    """The worker's knobs; defaults follow seed 000's etiquette."""

    rate_per_s: float = 5.0
    """Sends per second for this kiosk: site rate (≤ 5) × this kiosk's share."""
    max_faults: int = 12
    """Answered transient faults before a row goes to dead letters."""
    max_crashes: int | None = 5
    """Workers that may die while sending the same row before it goes to dead letters
    (``WORKER_CRASH``); each such row waits a backoff first, so the rows behind it go on.
    ``None``: never set aside."""
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 900.0
    offline_cap_s: float = 60.0
    """Longest wait between two probes while the service cannot be reached."""
    lease_s: float = 120.0
    bulk_kinds: frozenset[str] = frozenset()
    offhours_start: int = 20
    offhours_end: int = 6
    timezone: str = "Europe/Paris"
    idle_poll_s: float = 1.0


def issued_by(authorities: list[x509.Certificate]) -> Callable[[x509.Certificate], bool]:
    """A trust policy: the signer's certificate must be issued directly by one of these CAs."""

    def trusted(cert: x509.Certificate) -> bool:
        for authority in authorities:
            try:
                cert.verify_directly_issued_by(authority)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
        return False

    return trusted


class RateLimiter:
    """At most ``rate`` starts in any 1 s window: starts spaced ≥ 1/rate apart."""

    def __init__(self, rate_per_s: float, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        self._interval = 1.0 / rate_per_s
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for the next slot, then take it."""
        async with self._lock:
            if self._last is not None:
                wait = self._last + self._interval - self._clock.monotonic()
                while wait > 0:
                    await self._sleep(wait)
                    wait = self._last + self._interval - self._clock.monotonic()
            self._last = self._clock.monotonic()


class Step(StrEnum):
    """What one step of the worker did."""

    IDLE = "idle"
    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    OFFLINE = "offline"


@dataclass
class SyncReport:
    """Totals of a run."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    offline: bool = False
    last_error: str | None = None
    by_step: dict[str, int] = field(default_factory=dict)


class WorkerLock:
    """One sync worker per outbox file: an exclusive ``flock`` the kernel drops on death."""

    def __init__(self, database: Path) -> None:
        self._path = database.with_name(database.name + ".worker-lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`Unavailable` when another worker holds it."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise Unavailable(
                msg("outbox.sync.worker_lock_acquire"),
            ) from exc
        self._fd = fd

    def release(self) -> None:
        """Drop the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SyncWorker:
    """Drains the outbox through an :class:`OutboxSender`."""

    def __init__(
        self,
        store: OutboxStore,
        sender: OutboxSender,
        *,
        clock: Clock,
        policy: SyncPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        trusted: Callable[[x509.Certificate], bool] | None = None,
        on_status: Callable[[OutboxStatus], None] | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self.policy = policy or SyncPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._sleep = sleep
        self._trusted = trusted
        self._on_status = on_status
        self._limiter = RateLimiter(self.policy.rate_per_s, clock, sleep)
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._offline_failures = 0
        self._certs: dict[bytes, x509.Certificate] = {}
        self._lock: WorkerLock | None = None
        self._zone = ZoneInfo(self.policy.timezone)

    # --- lifecycle -----------------------------------------------------------

    async def claim(self) -> int:
        """Become the outbox's worker and requeue rows a dead worker left in flight."""
        lock = WorkerLock(self._store.path)
        lock.acquire()
        self._lock = lock
        found = await self._store.recover(
            max_crashes=self.policy.max_crashes, delay_s=self._crash_delay
        )
        if found.requeued:
            log.warning("outbox.requeued", extra={"count": found.requeued})
        if found.dead:
            log.error("outbox.dead", extra={"count": found.dead, "code": WORKER_CRASH})
        return found.requeued

    def release(self) -> None:
        """Give up the worker lock."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # --- policy pieces ---------------------------------------------------------

    def in_offhours(self) -> bool:
        """Whether bulk kinds may be sent now (site local time)."""
        hour = self._clock.now().astimezone(self._zone).hour
        start, end = self.policy.offhours_start, self.policy.offhours_end
        if start == end:
            return True
        if start < end:
            return start <= hour < end
        return hour >= start or hour < end

    def backoff(self, failures: int, cap: float) -> float:
        """Full jitter: uniform over [0, min(cap, base·2^(failures-1))]."""
        ceiling = min(cap, self.policy.backoff_base_s * 2 ** max(0, failures - 1))
        return self._rng.uniform(0.0, ceiling)

    def _crash_delay(self, crashes: int) -> float:
        return self.backoff(crashes, self.policy.backoff_cap_s)

    def offline_delay(self) -> float:
        """How long to wait before probing an unreachable service again."""
        return max(
            min(1.0, self.policy.offline_cap_s),
            self.backoff(self._offline_failures, self.policy.offline_cap_s),
        )

    def _certificate(self, der: bytes) -> x509.Certificate:
        cert = self._certs.get(der)
        if cert is None:
            cert = x509.load_der_x509_certificate(der)
            if len(self._certs) > 64:
                self._certs.clear()
            self._certs[der] = cert
        return cert

    def _open(self, row: LeasedRow) -> OutboxItem:
        """Unseal and check the signature; raise PayloadTampered when either fails."""
        payload = self._store.unseal(row)
        try:
            if row.signature is None or row.signer_cert is None:
                raise ValueError("no signature")
            cert = self._certificate(row.signer_cert)
        except ValueError as exc:
            raise PayloadTampered(msg("outbox.sync.sync_worker_open_2")) from exc
        data = signed_bytes(str(row.id), row.kind, row.idempotency_key, payload)
        if not verify_signature(cert, data, row.signature) or (
            self._trusted is not None and not self._trusted(cert)
        ):
            raise PayloadTampered(msg("outbox.sync.sync_worker_open"))
        return OutboxItem(
            id=row.id,
            idempotency_key=row.idempotency_key,
            kind=row.kind,
            payload=payload,
            signature=row.signature,
            signer_id=row.signer_id,
            attempt=row.attempts,
        )

    # --- the work ----------------------------------------------------------------

    async def step(self) -> Step:
        """Take the oldest due row and try to deliver it once."""
        rows = await self._store.lease(
            self._owner,
            lease_s=self.policy.lease_s,
            include_bulk=self.in_offhours(),
            bulk_kinds=tuple(self.policy.bulk_kinds),
            limit=1,
            max_crashes=self.policy.max_crashes,
            delay_s=self._crash_delay,
        )
        if not rows:
            return Step.IDLE
        row = rows[0]
        try:
            # Off the event loop: a hardware token may take milliseconds to open a payload.
            item = await asyncio.to_thread(self._open, row)
        except PayloadTampered:
            await self._store.mark_dead(
                row, self._owner, error=SIGNATURE_INVALID, reason="signature invalid"
            )
            log.error("outbox.dead", extra={"item": str(row.id), "code": SIGNATURE_INVALID})
            return Step.DEAD
        except KioskError as exc:
            # The device key itself failed (token pulled, token error): not the row's
            # fault. It keeps its place; the worker backs off as for an outage.
            log.error("outbox.device_key", extra={"item": str(row.id), "code": exc.code})
            return await self._transient(row, exc.code, False, None)
        await self._limiter.acquire()
        try:
            ack = await self._sender.send(item)
        except PermanentSendError as exc:
            await self._store.mark_dead(
                row, self._owner, error=exc.fault_code, reason="permanent fault"
            )
            log.error("outbox.dead", extra={"item": str(row.id), "code": exc.fault_code})
            return Step.DEAD
        except TransientSendError as exc:
            return await self._transient(row, exc.fault_code, exc.answered, exc.retry_after_s)
        except SoapFault as exc:
            if exc.permanent:
                await self._store.mark_dead(
                    row, self._owner, error=exc.fault_code, reason="permanent fault"
                )
                return Step.DEAD
            return await self._transient(row, exc.fault_code, True, None)
        except KioskError as exc:
            # Other errors of the tree: retryable ones mean "not reached" (Unavailable).
            if exc.retryable:
                return await self._transient(row, exc.code, False, None)
            await self._store.mark_dead(row, self._owner, error=exc.code, reason="refused")
            return Step.DEAD
        await self._store.mark_done(row, remote_id=ack.remote_id, duplicate=ack.duplicate)
        self._offline_failures = 0
        log.info(
            "outbox.acked",
            extra={"item": str(row.id), "kind": row.kind, "duplicate": ack.duplicate},
        )
        return Step.SENT

    async def _transient(
        self, row: LeasedRow, code: str, answered: bool, retry_after: float | None
    ) -> Step:
        if not answered:
            # Not the row's fault: it keeps its place; the worker backs off instead.
            self._offline_failures += 1
            await self._store.mark_retry(row, self._owner, error=code, delay_s=0.0, answered=False)
            log.warning("outbox.unreachable", extra={"item": str(row.id), "code": code})
            return Step.OFFLINE
        faults = row.faults + 1
        if faults >= self.policy.max_faults:
            await self._store.mark_dead(row, self._owner, error=code, reason="too many faults")
            log.error("outbox.dead", extra={"item": str(row.id), "code": code})
            return Step.DEAD
        delay = max(self.backoff(faults, self.policy.backoff_cap_s), retry_after or 0.0)
        await self._store.mark_retry(row, self._owner, error=code, delay_s=delay, answered=True)
        log.warning("outbox.retry", extra={"item": str(row.id), "code": code, "delay_s": delay})
        return Step.RETRY

    async def run_once(self) -> SyncReport:
        """Deliver everything due now; stop when idle or when the service is unreachable."""
        report = SyncReport()
        while True:
            outcome = await self.step()
            report.by_step[outcome] = report.by_step.get(outcome, 0) + 1
            if outcome is Step.SENT:
                report.sent += 1
            elif outcome is Step.RETRY:
                report.retried += 1
            elif outcome is Step.DEAD:
                report.dead += 1
            elif outcome is Step.OFFLINE:
                report.offline = True
                return report
            else:
                return report

    async def run(self, stop: asyncio.Event, *, status_every_s: float = 5.0) -> None:
        """Run until ``stop`` is set; storage errors are logged and waited out, never fatal."""
        next_status = self._clock.monotonic()
        while not stop.is_set():
            try:
                outcome = await self.step()
                if self._on_status is not None and self._clock.monotonic() >= next_status:
                    self._on_status(await self._store.status())
                    next_status = self._clock.monotonic() + status_every_s
            except StorageError as exc:
                # Disk full or I/O error: committed rows are safe; wait and try again.
                log.error("outbox.storage", extra={"code": exc.code, "detail": exc.detail})
                outcome = Step.OFFLINE
            except Exception:
                # A bug met on one row must not stop the outbox. The row stays in flight
                # until its lease expires, then counts a crash like a dead worker's row.
                log.exception("outbox.worker_error")
                outcome = Step.OFFLINE
            if outcome is Step.IDLE:
                await self._pause(stop, self.policy.idle_poll_s)
            elif outcome is Step.OFFLINE:
                await self._pause(stop, self.offline_delay())

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        if self._sleep is not asyncio.sleep:
            await self._sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
