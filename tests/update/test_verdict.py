"""The mark-good decision: issue 20, "marks it good only when the self-test's health checks
pass within a deadline (cards, printer, database, and the services when online)"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.clock import FrozenClock
from kiosk.domain.health import Check, HealthReport, Level, update_verdict
from kiosk.update.history import BootHistory, Pending
from kiosk.update.rauc import Rauc
from kiosk.update.trial import TrialOutcome, judge_trial
from kiosk.wiring.selftest import CHECKS

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ALL = CHECKS


def _report(**levels: Level) -> HealthReport:
    return HealthReport(T0, tuple(Check(n, levels.get(n, Level.OK), f"{n} said so") for n in ALL))


def test_warnings_never_roll_back() -> None:
    verdict = update_verdict(_report(printer=Level.WARN, disk=Level.WARN, clock=Level.WARN))
    assert verdict.good


def test_a_failing_scanner_or_certificate_does_not_roll_back_a_slot() -> None:
    """Neither is the new system's doing: a scanner unplugged, a certificate to renew."""
    assert update_verdict(_report(scanner=Level.FAIL, certificates=Level.FAIL)).good


def test_a_check_that_did_not_run_is_not_a_pass() -> None:
    report = HealthReport(T0, tuple(c for c in _report().checks if c.name != "database"))
    verdict = update_verdict(report)
    assert not verdict.good
    assert "database: not checked" in verdict.reason


def test_the_clock_counts_only_online() -> None:
    offline = update_verdict(_report(insi=Level.FAIL, dmp=Level.FAIL, clock=Level.FAIL))
    online = update_verdict(_report(clock=Level.FAIL))
    assert (offline.good, offline.online) == (True, False)
    assert (online.good, online.online) == (False, True)
    assert online.reason == "clock: clock said so"


def _judge(
    tmp_path: Path, rauc: Rauc, health: Callable[[], Awaitable[HealthReport]], **timing: Any
) -> TrialOutcome:
    """A pending update of slot B, judged on slot B by ``health``."""
    history = BootHistory(tmp_path)
    history.set_pending(Pending("B", "0.2.0", T0.isoformat()))
    return asyncio.run(
        judge_trial(
            history=history, booted="B", rauc=rauc, health=health, clock=FrozenClock(T0), **timing
        )
    )


class CountingRauc(Rauc):
    def __init__(self) -> None:
        super().__init__()
        self.marks: list[bool] = []

    async def mark(self, good: bool) -> None:
        self.marks.append(good)


def test_a_slot_whose_devices_come_up_late_is_asked_again_until_the_deadline(
    tmp_path: Path,
) -> None:
    answers = [_report(readers=Level.FAIL), _report(readers=Level.FAIL), _report()]
    waited: list[float] = []

    async def health() -> HealthReport:
        return answers.pop(0)

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    rauc = CountingRauc()
    judged = _judge(tmp_path, rauc, health, deadline_s=60, retry_s=10, sleep=sleep)

    assert judged.outcome == "good"
    assert waited == [10, 10]
    assert rauc.marks == [True]


def test_a_slot_still_failing_at_the_deadline_is_marked_bad(tmp_path: Path) -> None:
    asked: list[int] = []

    async def health() -> HealthReport:
        asked.append(1)
        return _report(printer=Level.FAIL)

    async def sleep(_seconds: float) -> None:
        return None

    class NoReboot(CountingRauc):
        async def reboot(self, *, trial: bool) -> None:
            self.marks.append(trial)

    rauc = NoReboot()
    judged = _judge(tmp_path, rauc, health, deadline_s=30, retry_s=10, sleep=sleep)

    assert judged.outcome == "bad"
    assert len(asked) == 4, "at 0, 10, 20 and 30 s"
    assert rauc.marks == [False, False], "marked bad, then a plain reboot"
    assert judged.reason == "printer: printer said so"
