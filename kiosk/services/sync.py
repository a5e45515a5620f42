"""The outbox sync as part of the app's life: start with the app, stop with it, report status.

The app (and ``kiosk sync``) opens the store, gets the sender from
``kiosk/wiring/`` (the DMP, signed in indirect mode) and hands them here with the clock.
The service takes the worker lock (one worker per outbox file), requeues what a
crashed predecessor left in flight, runs the worker as a task, and publishes the
outbox gauges. Storage errors (disk full) are logged and waited out by the worker:
the app keeps running and the footer shows the depth.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography import x509

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.outbox.admin import OutboxStatus
from kiosk.outbox.ports import OutboxSender
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncReport, SyncWorker

if TYPE_CHECKING:  # prometheus_client loads only where metrics are served (~2 MiB)
    from kiosk.metrics import OutboxMetrics

__all__ = ["SyncService", "policy_from_settings"]


def policy_from_settings(settings: Settings) -> SyncPolicy:
    """The worker's policy: site rate (≤ 5 tx/s, seed 000) × this kiosk's share."""
    cfg = settings.outbox
    return SyncPolicy(
        rate_per_s=settings.dmp.max_tx_per_second * cfg.kiosk_share,
        max_faults=cfg.max_attempts,
        max_crashes=cfg.max_crashes,
        backoff_base_s=cfg.backoff_base_s,
        backoff_cap_s=cfg.backoff_cap_s,
        offline_cap_s=cfg.offline_cap_s,
        lease_s=cfg.lease_s,
        bulk_kinds=frozenset(cfg.bulk_kinds),
        offhours_start=cfg.offhours_start,
        offhours_end=cfg.offhours_end,
        timezone=cfg.timezone,
    )


class SyncService:
    """Owns the worker task of one outbox."""

    def __init__(
        self,
        store: OutboxStore,
        sender: OutboxSender,
        *,
        clock: Clock,
        policy: SyncPolicy,
        metrics: OutboxMetrics | None = None,
        rng: random.Random | None = None,
        trusted: Callable[[x509.Certificate], bool] | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._worker = SyncWorker(
            store,
            sender,
            clock=clock,
            policy=policy,
            rng=rng,
            trusted=trusted,
            on_status=self._publish,
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_status: OutboxStatus | None = None

    def _publish(self, status: OutboxStatus) -> None:
        self.last_status = status
        if self._metrics is not None:
            self._metrics.update(status)

    @property
    def running(self) -> bool:
        """Whether the worker task is alive."""
        return self._task is not None and not self._task.done()

    async def start(self) -> int:
        """Claim the outbox and start the worker; return how many orphans were requeued."""
        requeued = await self._worker.claim()
        self._publish(await self._store.status())
        self._stop.clear()
        self._task = asyncio.create_task(self._worker.run(self._stop), name="outbox-sync")
        return requeued

    async def stop(self) -> None:
        """Let the current send finish, then stop and release the outbox."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._worker.release()

    async def run_once(self) -> SyncReport:
        """Claim, deliver what is due now, release (``kiosk sync --once``)."""
        await self._worker.claim()
        try:
            report = await self._worker.run_once()
            self._publish(await self._store.status())
            return report
        finally:
            self._worker.release()

    async def status(self) -> OutboxStatus:
        """A fresh status snapshot (also published to the gauges)."""
        status = await self._store.status()
        self._publish(status)
        return status
