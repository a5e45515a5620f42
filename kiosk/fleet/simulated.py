"""An in-memory :class:`~kiosk.fleet.ports.Updater` for tests and the simulated fleet.

It plays RAUC and the tryboot firmware without touching a disk: :meth:`install` reads the
bundle's manifest line (``KIOSK-BUNDLE version=…``, what the simulated server's bundles
carry) into the other slot, :meth:`reboot` boots it once (``trying``), and
:meth:`start_up` is the kiosk's start after that boot: the self-test runs and the slot
is marked good, or bad and the previous slot boots again (``rolled-back``). Drivers:
``busy_reason`` (an admission in progress), ``install_error``, ``health``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from kiosk.clock import Clock
from kiosk.domain.health import Check, HealthReport, Level
from kiosk.errors import InvalidInput, KioskError
from kiosk.fleet.ports import BootOutcome, BootRecord, UpdaterState
from kiosk.locale import msg

__all__ = ["BUNDLE_MAGIC", "SimulatedUpdater", "bundle_bytes"]

BUNDLE_MAGIC = b"KIOSK-BUNDLE version="


def bundle_bytes(version: str, size: int = 4096) -> bytes:
    """A simulated bundle of ``size`` bytes announcing ``version`` in its first line."""
    head = BUNDLE_MAGIC + version.encode("ascii") + b"\n"
    body = bytes((i * 7 + 3) % 251 for i in range(max(0, size - len(head))))
    return head + body


def healthy(version: str, clock: Clock) -> HealthReport:
    """Every check ok."""
    return HealthReport(clock.now(), (Check("dmp", Level.OK, ""), Check("readers", Level.OK, "")))


class SimulatedUpdater:
    """A kiosk's two slots in memory; see the module docstring for the drivers."""

    def __init__(
        self,
        clock: Clock,
        *,
        version: str = "1.0.0",
        slot: str = "A",
        health: Callable[[str], HealthReport] | None = None,
    ) -> None:
        self._clock = clock
        self._slots: dict[str, str] = {slot: version, _other(slot): ""}
        self._booted = slot
        self._installed: str | None = None
        self.history: list[BootRecord] = [BootRecord(slot, version, BootOutcome.GOOD, at=None)]
        self.health = health or (lambda v: healthy(v, clock))
        self.busy_reason: str | None = None
        self.install_error: KioskError | None = None
        self.installs: list[Path] = []
        self.reboots = 0

    async def install(self, bundle: Path) -> None:
        """Write the bundle's version into the other slot (or raise ``install_error``)."""
        self.installs.append(bundle)
        if self.install_error is not None:
            raise self.install_error
        head = (await asyncio.to_thread(bundle.read_bytes))[:128].split(b"\n", 1)[0]
        if not head.startswith(BUNDLE_MAGIC):
            raise InvalidInput(msg("fleet.sim.bundle_invalid", path=bundle.name))
        self._slots[_other(self._booted)] = head[len(BUNDLE_MAGIC) :].decode("ascii")
        self._installed = _other(self._booted)

    async def reboot(self) -> None:
        """Boot the installed slot once (tryboot); the outcome waits for :meth:`start_up`."""
        self.reboots += 1
        if self._installed is None:
            return  # nothing new: the same slot boots again
        self._booted, self._installed = self._installed, None
        self.history.append(
            BootRecord(
                self._booted, self._slots[self._booted], BootOutcome.TRYING, at=self._clock.now()
            )
        )

    def start_up(self) -> HealthReport:
        """The kiosk's start after a boot: self-test, then mark good or roll back."""
        version = self._slots[self._booted]
        report = self.health(version)
        last = self.history[-1]
        if last.outcome is not BootOutcome.TRYING:
            return report
        if report.level is Level.FAIL:
            failing = ", ".join(c.name for c in report.checks if c.level is Level.FAIL)
            self.history[-1] = replace(
                last, outcome=BootOutcome.ROLLED_BACK, reason=f"selftest: {failing} fail"
            )
            self._booted = _other(self._booted)
        else:
            self.history[-1] = replace(last, outcome=BootOutcome.GOOD)
        return report

    def state(self) -> UpdaterState:
        """Version, booted slot and boot history."""
        return UpdaterState(
            version=self._slots[self._booted],
            booted_slot=self._booted,
            history=tuple(self.history),
        )

    def busy(self) -> str | None:
        """``busy_reason``."""
        return self.busy_reason


def _other(slot: str) -> str:
    return "B" if slot == "A" else "A"
