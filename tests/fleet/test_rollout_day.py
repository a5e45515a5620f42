"""A simulated day: one rollout to 20 kiosks in 4 groups, 2 failing their self-test after reboot.

Time is a :class:`FrozenClock` moved from one check-in to the next (no real sleeping);
each kiosk is a DDI client with a simulated updater, restarted (a new agent, the journal
on its data partition) after each reboot. Admissions come and go at random (seeded), and
the server is down for half an hour. At the end the server's own view must match what
the kiosks did: 18 finished, 2 in error and still on the old version.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime
from pathlib import Path

import httpx

from kiosk.clock import FrozenClock
from kiosk.domain.health import Check, HealthReport, Level
from kiosk.fleet.agent import FleetAgent
from kiosk.fleet.client import DdiClient
from kiosk.fleet.endpoint import DdiEndpoint
from kiosk.fleet.ports import BootOutcome
from kiosk.fleet.simulated import SimulatedUpdater, bundle_bytes
from kiosk.sim.fleet.service import DdiSimulator

KIOSKS = [f"3750100000-KIOSK-{n:02d}" for n in range(1, 21)]
FAILING = {KIOSKS[2], KIOSKS[12]}  # one in the first group, one in the third
DAY = 24 * 3600.0
OUTAGE = (3600.0, 5400.0)
BOOT_S = 90.0


class Kiosk:
    """One simulated kiosk: its updater, its agent, and whether a patient is at the desk."""

    def __init__(self, controller: str, http: httpx.AsyncClient, clock: FrozenClock, root: Path):
        def health(version: str) -> HealthReport:
            broken = controller in FAILING and version == "1.1.0"
            level = Level.FAIL if broken else Level.OK
            return HealthReport(
                clock.now(), (Check("dmp", level, ""), Check("printer", Level.OK, ""))
            )

        self.controller = controller
        self.updater = SimulatedUpdater(clock, health=health)
        self.started_busy: list[str] = []
        install = self.updater.install

        async def guarded_install(bundle: Path) -> None:
            if self.updater.busy_reason is not None:
                self.started_busy.append(self.updater.busy_reason)
            await install(bundle)

        self.updater.install = guarded_install  # type: ignore[method-assign]
        self._make = lambda token: FleetAgent(
            DdiClient(http, DdiEndpoint("http://fleet.test", "DEFAULT", controller, token)),
            self.updater,
            clock=clock,
            data_dir=root / controller,
            rng=random.Random(controller),
        )
        self.token = ""
        self.agent: FleetAgent | None = None

    def restart(self) -> None:
        """The kiosk process starts (first boot, or after a reboot)."""
        self.agent = self._make(self.token)


async def test_a_day_of_rollout_to_20_kiosks(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 15, 6, 0, tzinfo=UTC))
    sim = DdiSimulator(clock=clock)
    sim.state.polling_sleep_s = 1800
    state = sim.state
    rng = random.Random(2026)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://fleet.test"
    ) as http:
        kiosks = [Kiosk(c, http, clock, tmp_path) for c in KIOSKS]
        for kiosk in kiosks:
            kiosk.token = state.add_target(kiosk.controller).token
            kiosk.restart()
        release = state.add_distribution_set("kiosk-os", "1.1.0", bundle_bytes("1.1.0", 50_000))
        state.create_rollout("january", release, KIOSKS, groups=4)
        state.start_rollout("january")

        start = clock.monotonic()
        # (when, order, kiosk index, event): "poll" a check-in, "boot" the start after a reboot.
        queue = [(start + rng.uniform(0, 1800), i, i, "poll") for i in range(len(kiosks))]
        heapq.heapify(queue)
        order = len(queue)
        steps = 0
        while queue and queue[0][0] - start < DAY:
            steps += 1
            assert steps < 5000, "the day does not end"
            when, _, index, event = heapq.heappop(queue)
            clock.advance(when - clock.monotonic())
            elapsed = clock.monotonic() - start
            sim.faults.down = OUTAGE[0] <= elapsed < OUTAGE[1]
            kiosk = kiosks[index]
            if event == "boot":
                kiosk.updater.start_up()
                kiosk.restart()  # and checks in at once
                event, delay = "poll", 0.0
            else:
                kiosk.updater.busy_reason = "admission" if rng.random() < 0.3 else None
                assert kiosk.agent is not None
                report = await kiosk.agent.step()
                event, delay = ("boot", BOOT_S) if report.step == "rebooting" else ("poll", 0.0)
                delay = delay or report.next_s
            order += 1
            heapq.heappush(queue, (clock.monotonic() + delay, order, index, event))

        rollout = (await http.get("/_sim/rollouts/january")).json()
        targets = (await http.get("/_sim/targets")).json()

    statuses = rollout["targets"]
    assert rollout["status"] == "finished"
    assert sorted(c for c, s in statuses.items() if s == "error") == sorted(FAILING)
    assert sum(s == "finished" for s in statuses.values()) == 18
    for kiosk in kiosks:
        seen = targets[kiosk.controller]
        running = kiosk.updater.state()
        assert kiosk.started_busy == []  # never while a patient was at the desk
        if kiosk.controller in FAILING:
            assert (running.version, running.booted_slot) == ("1.0.0", "A")
            assert running.history[-1].outcome is BootOutcome.ROLLED_BACK
            assert (seen["status"], seen["installed"]) == ("error", None)
            assert seen["attributes"]["kiosk.version"] == "1.0.0"
        else:
            assert (running.version, running.booted_slot) == ("1.1.0", "B")
            assert (seen["status"], seen["installed"]) == ("in_sync", "1.1.0")
            assert seen["attributes"]["kiosk.version"] == "1.1.0"
        assert kiosk.agent is not None
        assert kiosk.agent.journal.read() is None
    # The outage cost failed polls, not a stuck kiosk: every one kept checking in after it.
    assert any(status == 503 for _, _, status in sim.requests)
    assert all(
        datetime.fromisoformat(t["last_poll"]) > datetime(2026, 1, 16, 5, 0, tzinfo=UTC)
        for t in targets.values()
    )
