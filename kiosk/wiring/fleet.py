"""The fleet check-in as the kiosk runs it: the DDI client on the real updater.

:class:`RaucUpdater` is :mod:`kiosk.fleet`'s ``Updater`` port over :mod:`kiosk.update`
(RAUC, the tryboot selector, the boot history on the data partition); the health is
the self-test's report, the outbox gauge the outbox's own counts. ``fleet.kind = "sim"``
checks in with the simulator in process (one target registered for this kiosk).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.domain.health import HealthReport
from kiosk.errors import ConfigError, UpdateError
from kiosk.fleet.ports import BootOutcome, BootRecord, OutboxDepth, UpdaterState
from kiosk.locale import msg
from kiosk.wiring import update as wired

if TYPE_CHECKING:
    from kiosk.fleet.agent import FleetAgent

__all__ = ["RaucUpdater", "open_fleet_agent"]

_OUTCOMES = {
    "good": BootOutcome.GOOD,
    "bad": BootOutcome.ROLLED_BACK,
    "fallback": BootOutcome.ROLLED_BACK,
}


class RaucUpdater:
    """The fleet's updater: ``kiosk update install``'s steps, and the boot history read back."""

    def __init__(self, settings: Settings, clock: Clock, *, version: str) -> None:
        self._settings = settings
        self._clock = clock
        self._version = version
        self._rauc = wired.rauc()
        self._history = wired.history(settings)

    async def install(self, bundle: Path) -> None:
        """Verify, install into the other slot, record it pending (the action kept by the fleet)."""
        from kiosk.update.history import Pending
        from kiosk.update.tryboot import PARTITIONS

        busy = self.busy()
        if busy is not None:
            raise UpdateError(msg(f"update.busy.{busy}"), detail=busy)
        info = await self._rauc.info(bundle)
        await self._rauc.install(bundle)
        running = wired.booted()
        slot = next((s for s in PARTITIONS if s != running), "B")
        self._history.set_pending(Pending(slot, info.version, self._clock.now().isoformat()))

    async def reboot(self) -> None:
        """Once into the new slot (the firmware's tryboot)."""
        await self._rauc.reboot(trial=True)

    def state(self) -> UpdaterState:
        """What runs, and the judged boots (a pending one on its slot: still trying)."""
        records = [
            BootRecord(
                r.slot,
                r.version,
                _OUTCOMES.get(r.outcome, BootOutcome.ROLLED_BACK),
                r.reason,
                _parsed(r.at),
            )
            for r in self._history.records()
        ]
        booted = wired.booted() or ""
        pending = self._history.pending()
        if pending is not None and pending.slot == booted:
            records.append(
                BootRecord(
                    pending.slot, pending.version, BootOutcome.TRYING, "", _parsed(pending.since)
                )
            )
        return UpdaterState(version=self._version, booted_slot=booted, history=tuple(records))

    def busy(self) -> str | None:
        """A patient served, or a DMP write mid-send."""
        return wired.why_busy(self._settings, self._clock)


def _parsed(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@contextlib.asynccontextmanager
async def open_fleet_agent(settings: Settings, clock: Clock) -> AsyncIterator[FleetAgent]:
    """The check-in for this kiosk, open for the block (its HTTP client closed after)."""
    import httpx

    from kiosk.fleet.agent import FleetAgent
    from kiosk.fleet.client import DdiClient
    from kiosk.fleet.endpoint import controller_id, endpoint_from_settings
    from kiosk.fleet.metrics import FleetMetrics

    cfg = settings.fleet
    if cfg.kind == "none":
        raise ConfigError(msg("fleet.not_configured"), detail="fleet.kind")
    transport: httpx.AsyncBaseTransport | None = None
    if cfg.kind == "sim":
        from kiosk.sim.fleet.service import DdiSimulator

        sim = DdiSimulator()
        sim.state.tenant = cfg.tenant
        token = sim.state.add_target(controller_id(settings)).token
        transport = httpx.ASGITransport(app=sim.app)
        endpoint = endpoint_from_settings(settings, token=token)
    else:
        endpoint = endpoint_from_settings(settings)
    last: list[HealthReport] = []

    async def health() -> HealthReport | None:
        last[:] = [await wired.selftest_health(settings, clock)]
        return last[0]

    async def outbox() -> OutboxDepth:
        import asyncio

        from kiosk.outbox.lease import backlog

        found = await asyncio.to_thread(backlog, settings.outbox.database, clock.now())
        return OutboxDepth(*found)

    hardware = {
        "printer": settings.printer.profile,
        "scanner": settings.scanner.kind,
        "cards": settings.cards.kind,
    }
    async with httpx.AsyncClient(transport=transport) as http:
        yield FleetAgent(
            DdiClient(http, endpoint, timeout_s=cfg.timeout_s),
            RaucUpdater(settings, clock, version=settings.site.lps_version),
            clock=clock,
            data_dir=settings.paths.data_dir / "fleet",
            health=health,
            outbox=outbox,
            hardware=hardware,
            observer=FleetMetrics(),
            max_backoff_s=cfg.max_backoff_s,
        )
