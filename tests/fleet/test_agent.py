"""The check-in loop against the simulated server: a whole update, and how it waits or fails."""

from __future__ import annotations

import random
from datetime import time, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kiosk.clock import FrozenClock
from kiosk.domain.health import Check, HealthReport, Level
from kiosk.errors import StorageError
from kiosk.fleet.agent import FleetAgent, Result
from kiosk.fleet.ddi import Chunk, Deployment, Handling
from kiosk.fleet.journal import InFlight, Stage
from kiosk.fleet.metrics import FleetMetrics
from kiosk.fleet.policy import Step, decide
from kiosk.fleet.ports import BootOutcome, OutboxDepth
from kiosk.fleet.simulated import SimulatedUpdater
from kiosk.locale import msg
from kiosk.sim.fleet.service import DdiSimulator
from kiosk.sim.fleet.state import ActionStatus, ActionType, DistributionSet, MaintenanceWindow

from .conftest import CONTROLLER, AgentFactory


def executions(sim: DdiSimulator, action_id: int) -> list[tuple[str, str]]:
    return [(f.execution, f.finished) for f in sim.state.actions[action_id].feedback]


def failing_dmp(clock: FrozenClock) -> HealthReport:
    return HealthReport(clock.now(), (Check("dmp", Level.FAIL, "no answer"),))


async def test_an_update_installs_reboots_and_is_closed_after_the_self_test(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    (action,) = sim.state.assign(release, [CONTROLLER])
    report = await make_agent(updater).step()
    assert (report.result, report.step, report.action_id) == (Result.OK, "rebooting", action.id)
    assert updater.state().version == "1.1.0"
    assert updater.history[-1].outcome is BootOutcome.TRYING
    assert action.status is ActionStatus.RUNNING  # open until the kiosk says how it ended
    clock.advance(90)
    updater.start_up()  # the kiosk's start after the reboot: self-test passes, marked good
    after = make_agent(updater)  # a new process: only the journal remembers the action
    assert after.journal.read() is not None
    report = await after.step()
    assert report.step == "closed"
    assert after.journal.read() is None
    assert executions(sim, action.id) == [
        ("download", "none"),
        ("downloaded", "none"),
        ("proceeding", "none"),
        ("proceeding", "none"),
        ("closed", "success"),
    ]
    target = sim.state.targets[CONTROLLER]
    assert (action.status, target.status.value, target.installed) == (
        ActionStatus.FINISHED,
        "in_sync",
        release,
    )
    assert target.attributes["kiosk.version"] == "1.1.0"
    assert target.attributes["kiosk.slot"] == "B"
    assert not list((after.data_dir / "downloads").iterdir())  # the bundle is not kept


async def test_a_failed_self_test_rolls_back_and_reports_failure(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock, health=lambda version: failing_dmp(clock))
    (action,) = sim.state.assign(release, [CONTROLLER])
    await make_agent(updater).step()
    clock.advance(90)
    updater.start_up()
    await make_agent(updater).step()
    assert action.status is ActionStatus.ERROR
    assert action.feedback[-1].details == ("rolled back to 1.0.0: selftest: dmp fail",)
    assert updater.state().version == "1.0.0"
    assert (
        sim.state.targets[CONTROLLER]
        .attributes["boot.history"]
        .endswith("B:1.1.0:rolled-back (selftest: dmp fail)")
    )


async def test_while_the_self_test_has_not_decided_nothing_is_reported(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    (action,) = sim.state.assign(release, [CONTROLLER])
    await make_agent(updater).step()
    report = await make_agent(updater).step()  # rebooted, start_up not run yet
    assert report.step == "waiting:health"
    assert executions(sim, action.id)[-1] == ("proceeding", "none")
    assert len(updater.installs) == 1


async def test_a_forced_update_waits_for_the_admission_to_end(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    updater.busy_reason = "admission"
    (action,) = sim.state.assign(release, [CONTROLLER], type=ActionType.FORCED)
    agent = make_agent(updater)
    for _ in range(3):
        assert (await agent.step()).step == "waiting:admission"
    assert updater.installs == []
    assert executions(sim, action.id).count(("scheduled", "none")) == 1  # told once
    updater.busy_reason = None
    assert (await agent.step()).step == "rebooting"
    assert [s for _, p, s in sim.requests if "/artifacts/" in p] == [200]  # fetched once


async def test_an_attempt_installs_only_inside_the_maintenance_window(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    window = MaintenanceWindow(time(22), timedelta(hours=4))
    sim.state.assign(release, [CONTROLLER], type=ActionType.SOFT, window=window)
    agent = make_agent(updater)
    assert (await agent.step()).step == "waiting:update-skip"  # downloaded, not installed
    assert updater.installs == []
    clock.advance(13 * 3600)  # 22:30 UTC
    assert (await agent.step()).step == "rebooting"


async def test_a_download_only_action_is_fetched_and_left(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    (action,) = sim.state.assign(release, [CONTROLLER], type=ActionType.DOWNLOAD_ONLY)
    assert (await make_agent(updater).step()).step == "waiting:update-skip"
    assert action.status is ActionStatus.RUNNING  # "scheduled" maps to RUNNING
    assert updater.installs == []


def _offer(download: Handling, update: Handling, window: str | None = None) -> Deployment:
    return Deployment(1, download, update, window, (Chunk("os", "kiosk", "2", ()),))


@pytest.mark.parametrize(
    ("download", "update", "window", "busy", "expected"),
    [
        (Handling.SKIP, Handling.FORCED, None, None, Step.NOTHING),
        (Handling.FORCED, Handling.SKIP, None, None, Step.DOWNLOAD),
        (Handling.FORCED, Handling.FORCED, None, "admission", Step.DOWNLOAD),
        (Handling.FORCED, Handling.FORCED, "unavailable", "outbox-sending", Step.DOWNLOAD),
        (Handling.ATTEMPT, Handling.ATTEMPT, "unavailable", None, Step.DOWNLOAD),
        (Handling.ATTEMPT, Handling.ATTEMPT, "available", None, Step.INSTALL),
        (Handling.ATTEMPT, Handling.ATTEMPT, None, None, Step.INSTALL),
        (Handling.FORCED, Handling.FORCED, "unavailable", None, Step.INSTALL),
    ],
)
def test_the_policy_puts_patients_first(
    download: Handling, update: Handling, window: str | None, busy: str | None, expected: Step
) -> None:
    assert decide(_offer(download, update, window), busy).step is expected


async def test_a_tampered_bundle_is_never_installed(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    stored = release.modules[0].artifacts["kiosk.raucb"]
    stored.served = stored.data[:-1] + b"\x00"
    (action,) = sim.state.assign(release, [CONTROLLER])
    agent = make_agent(updater)
    assert (await agent.step()).step == "closed:failure"
    assert updater.installs == []
    assert action.status is ActionStatus.ERROR
    assert action.feedback[-1].details[0].startswith("FLEET_ARTIFACT: ")
    assert not list((agent.data_dir / "downloads").iterdir())


async def test_an_install_error_is_reported_as_failure(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    updater.install_error = StorageError(msg("fleet.sim.bundle_invalid", path="slot B"))
    (action,) = sim.state.assign(release, [CONTROLLER])
    agent = make_agent(updater)
    assert (await agent.step()).step == "closed:failure"
    assert action.feedback[-1].details[0].startswith("STORAGE: ")
    assert agent.journal.read() is None
    assert updater.reboots == 0


async def test_an_install_cut_by_a_power_loss_is_tried_again(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    (action,) = sim.state.assign(release, [CONTROLLER])
    agent = make_agent(updater)
    agent.journal.write(
        InFlight(action.id, "1.1.0", "1.0.0", "A", Stage.INSTALLING, clock.now().isoformat())
    )
    assert (await agent.step()).step == "rebooting"
    assert len(updater.installs) == 1


async def test_a_cancel_before_install_is_accepted(
    make_agent: AgentFactory, sim: DdiSimulator, release: DistributionSet, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    updater.busy_reason = "outbox-sending"
    (action,) = sim.state.assign(release, [CONTROLLER])
    agent = make_agent(updater)
    await agent.step()
    sim.state.cancel(action.id)
    assert (await agent.step()).step == "cancel:closed"
    assert action.status is ActionStatus.CANCELED
    assert not list((agent.data_dir / "downloads").iterdir())
    assert (await agent.step()).step == "idle"


async def test_a_server_down_never_stops_the_kiosk_and_backs_off_bounded(
    make_agent: AgentFactory, sim: DdiSimulator, clock: FrozenClock
) -> None:
    agent = make_agent(
        SimulatedUpdater(clock), rng=random.Random(7), backoff_base_s=30, max_backoff_s=600
    )
    sim.faults.down = True
    reports = [await agent.step() for _ in range(8)]
    assert {r.result for r in reports} == {Result.UNAVAILABLE}
    delays = [r.next_s for r in reports]
    assert 15 <= delays[0] <= 30
    assert all(300 <= d <= 600 for d in delays[5:])
    sim.faults.down = False
    report = await agent.step()
    assert (report.result, report.next_s) == (Result.OK, 300.0)
    assert (agent.data_dir / "last.json").exists()


async def test_a_refused_token_backs_off_to_the_longest_wait(
    http: object, sim: DdiSimulator, clock: FrozenClock, tmp_path: Path
) -> None:
    from kiosk.fleet.client import DdiClient

    from .conftest import endpoint

    client = DdiClient(http, endpoint(token="revoked"))  # type: ignore[arg-type]
    agent = FleetAgent(
        client, SimulatedUpdater(clock), clock=clock, data_dir=tmp_path, max_backoff_s=3600
    )
    report = await agent.step()
    assert (report.result, report.error_code) == (Result.UNAUTHORIZED, "FLEET_UNAUTHORIZED")
    assert report.next_s >= 1800


async def test_a_bug_below_is_logged_not_raised(
    make_agent: AgentFactory, sim: DdiSimulator, clock: FrozenClock
) -> None:
    updater = SimulatedUpdater(clock)
    updater.state = lambda: 1 / 0  # type: ignore[assignment, method-assign, return-value]
    report = await make_agent(updater).step()
    assert report.result is Result.ERROR


async def test_the_attributes_hold_health_outbox_and_hardware_only(
    make_agent: AgentFactory, sim: DdiSimulator, clock: FrozenClock
) -> None:
    async def health() -> HealthReport:
        checks = (Check("readers", Level.OK, "Gemalto"), Check("dmp", Level.WARN, "slow"))
        return HealthReport(clock.now(), checks)

    async def outbox() -> OutboxDepth:
        return OutboxDepth(4, 125.6)

    agent = make_agent(
        SimulatedUpdater(clock), health=health, outbox=outbox, hardware={"printer": "generic-80mm"}
    )
    await agent.step()
    assert sim.state.targets[CONTROLLER].attributes == {
        "boot.history": "A:1.0.0:good",
        "hw.printer": "generic-80mm",
        "kiosk.slot": "A",
        "kiosk.version": "1.0.0",
        "outbox.depth": "4",
        "outbox.oldest_age_s": "126",
        "selftest.at": "2026-01-15T09:30:00+00:00",
        "selftest.dmp": "warn",
        "selftest.level": "warn",
        "selftest.readers": "ok",
    }
    puts = sum(1 for m, p, _ in sim.requests if m == "PUT")
    await agent.step()
    assert sum(1 for m, p, _ in sim.requests if m == "PUT") == puts  # unchanged: not resent


async def test_the_metrics_count_polls_and_the_last_contact(
    make_agent: AgentFactory, sim: DdiSimulator, clock: FrozenClock
) -> None:
    registry = CollectorRegistry()
    agent = make_agent(SimulatedUpdater(clock), observer=FleetMetrics(registry))
    await agent.step()
    sim.faults.down = True
    clock.advance(60)
    await agent.step()
    value = registry.get_sample_value
    assert value("kiosk_fleet_polls_total", {"result": "ok"}) == 1
    assert value("kiosk_fleet_polls_total", {"result": "unavailable"}) == 1
    assert value("kiosk_fleet_last_contact_timestamp_seconds") == clock.now().timestamp() - 60
