"""After a reboot into a new slot: mark it good only when the kiosk is healthy.

The kiosk's self-test runs until its verdict (:func:`kiosk.domain.health.update_verdict`)
is good or the deadline passes: devices may take a few seconds to enumerate after a
boot, so a failing check is asked again every ``retry_s``. Good: ``rauc status
mark-good booted`` (the tryboot backend then commits the slot). Not good by the
deadline: ``mark-bad`` and a plain reboot, which the firmware answers with the
committed, old slot. A pending update whose slot is not the one running never reached
its check (the watchdog or a power cut brought the old slot back): recorded as a
fallback. Every outcome is one line of the boot history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kiosk.clock import Clock
from kiosk.domain.health import HealthReport, update_verdict
from kiosk.update.history import BootHistory, BootRecord
from kiosk.update.rauc import Rauc

__all__ = ["TrialOutcome", "judge_trial"]


@dataclass(frozen=True)
class TrialOutcome:
    """What :func:`judge_trial` decided."""

    outcome: str
    """``none`` (no update pending), ``good``, ``bad`` or ``fallback``."""
    slot: str = ""
    version: str = ""
    reason: str = ""


async def judge_trial(
    *,
    history: BootHistory,
    booted: str | None,
    rauc: Rauc,
    health: Callable[[], Awaitable[HealthReport]],
    clock: Clock,
    deadline_s: float = 180.0,
    retry_s: float = 10.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TrialOutcome:
    """Judge the pending update against the slot running now; record and act on it."""
    pending = history.pending()
    if pending is None:
        return TrialOutcome("none")
    at = clock.now().isoformat()
    if booted != pending.slot:
        reason = f"slot {pending.slot} did not reach its health check; {booted or '?'} is running"
        history.record(BootRecord(at, pending.slot, pending.version, "fallback", reason))
        history.clear_pending()
        return TrialOutcome("fallback", pending.slot, pending.version, reason)
    start, slept = clock.monotonic(), 0.0
    while True:
        verdict = update_verdict(await health())
        if verdict.good or max(slept, clock.monotonic() - start) >= deadline_s:
            break
        await sleep(retry_s)
        slept += retry_s  # the deadline holds even on a clock that stands still
    at = clock.now().isoformat()
    if verdict.good:
        await rauc.mark(good=True)
        history.record(BootRecord(at, pending.slot, pending.version, "good"))
        history.clear_pending()
        return TrialOutcome("good", pending.slot, pending.version)
    history.record(BootRecord(at, pending.slot, pending.version, "bad", verdict.reason))
    history.clear_pending()
    await rauc.mark(good=False)
    await rauc.reboot(trial=False)
    return TrialOutcome("bad", pending.slot, pending.version, verdict.reason)
