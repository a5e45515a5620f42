"""What the fleet check-in drives and reads: the updater, the health, the outbox's depth.

The RAUC install and the mark-good decision live in :mod:`kiosk.update` (another
area): the check-in only drives the :class:`Updater` port and reads its state. After a
reboot into the new slot the kiosk's self-test decides, and the updater records the
outcome in its boot history; the check-in learns the result from there and reports the
final ``closed`` feedback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple, Protocol

from kiosk.domain.health import HealthReport

__all__ = [
    "BootOutcome",
    "BootRecord",
    "FleetObserver",
    "HealthSource",
    "OutboxDepth",
    "OutboxGauge",
    "Updater",
    "UpdaterState",
]


class BootOutcome(StrEnum):
    """How a boot into a slot ended, as the updater recorded it."""

    TRYING = "trying"
    """Booted once (tryboot); the self-test has not decided yet."""
    GOOD = "good"
    """Marked good after the self-test passed: the slot is committed."""
    ROLLED_BACK = "rolled-back"
    """Marked bad (self-test failed, hung boot, watchdog): the previous slot runs again."""


@dataclass(frozen=True)
class BootRecord:
    """One line of the boot history."""

    slot: str
    version: str
    outcome: BootOutcome
    reason: str = ""
    """Why it rolled back (``selftest: dmp fail``, ``watchdog``); empty when good."""
    at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON form (``kiosk fleet status --json``)."""
        return {
            "slot": self.slot,
            "version": self.version,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "at": None if self.at is None else self.at.isoformat(),
        }


@dataclass(frozen=True)
class UpdaterState:
    """The updater's view: what runs, and what happened at the last boots (oldest first)."""

    version: str
    booted_slot: str
    pending_action: str | None = None
    """The action id the updater keeps across the reboot, when it keeps one."""
    history: tuple[BootRecord, ...] = field(default=())


class Updater(Protocol):
    """Installs a bundle into the other slot and reboots into it (:mod:`kiosk.update`)."""

    async def install(self, bundle: Path) -> None:
        """Install into the other slot; raises a :class:`~kiosk.errors.KioskError` on failure."""
        ...

    async def reboot(self) -> None:
        """Reboot once into the newly installed slot (tryboot)."""
        ...

    def state(self) -> UpdaterState:
        """Version, booted slot, pending action id, boot history."""
        ...

    def busy(self) -> str | None:
        """Why an update must wait now (``admission``, ``outbox-sending``), or None."""
        ...


class OutboxDepth(NamedTuple):
    """The outbox as plain numbers: rows not yet acknowledged, age of the oldest (s)."""

    depth: int
    oldest_age_s: float


OutboxGauge = Callable[[], Awaitable[OutboxDepth]]
"""Reads the outbox's depth (no row, no payload: numbers only)."""

HealthSource = Callable[[], Awaitable[HealthReport | None]]
"""The last self-test's report (None when none ran yet)."""


class FleetObserver(Protocol):
    """Told of each check-in (the Prometheus metrics, :mod:`kiosk.fleet.metrics`)."""

    def polled(self, result: str, at: datetime) -> None:
        """One poll ended with ``result`` (``ok``, ``unavailable``, ``unauthorized``, …)."""
        ...
