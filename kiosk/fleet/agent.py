"""The check-in loop: poll, push attributes, carry out a deployment, report how it ended.

One :meth:`FleetAgent.step` is one check-in; it never raises (a server down, slow,
refusing or talking nonsense is logged in one line and the next check-in is pushed back,
bounded and jittered), so the kiosk goes on serving patients whatever the fleet server
does. :meth:`FleetAgent.run` repeats it at the server's ``config.polling.sleep``.

A deployment goes: ``download`` → file checked → ``downloaded`` → (waiting while the
desk is busy or outside the window: ``scheduled``) → ``proceeding`` → install →
reboot. The journal (:mod:`kiosk.fleet.journal`) keeps the action across the reboot;
after it, the updater's boot history says whether the self-test marked the new slot
good, and the agent sends ``closed`` with ``success``, or ``failure`` and the reason.
Intermediate feedback is best effort; the final ``closed`` is retried until delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from kiosk.clock import Clock
from kiosk.domain.health import HealthReport
from kiosk.errors import KioskError
from kiosk.fleet.attributes import controller_attributes
from kiosk.fleet.client import DdiClient
from kiosk.fleet.ddi import Execution, Finished, action_id_from_href, feedback_body
from kiosk.fleet.errors import ArtifactRejected, FleetUnauthorized, FleetUnavailable
from kiosk.fleet.journal import InFlight, Journal, Stage, write_json_atomically
from kiosk.fleet.policy import Step, decide
from kiosk.fleet.ports import (
    BootOutcome,
    FleetObserver,
    HealthSource,
    OutboxDepth,
    OutboxGauge,
    Updater,
)
from kiosk.locale import text

__all__ = ["CheckIn", "FleetAgent", "Result"]

_log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class Result(StrEnum):
    """How a check-in ended (the ``result`` label of ``kiosk_fleet_polls_total``)."""

    OK = "ok"
    UNAVAILABLE = "unavailable"
    UNAUTHORIZED = "unauthorized"
    PROTOCOL = "protocol"
    ERROR = "error"


@dataclass(frozen=True)
class CheckIn:
    """One check-in's report (``kiosk fleet poll-once``, ``<data_dir>/fleet/last.json``)."""

    result: Result
    at: datetime
    next_s: float
    """Seconds until the next check-in."""
    action_id: int | None = None
    step: str = ""
    """What happened: ``idle``, ``offered``, ``waiting:<why>``, ``rebooting``, ``closed:…``."""
    error_code: str = ""

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "result": self.result.value,
            "at": self.at.isoformat(),
            "next_s": round(self.next_s, 1),
            "action_id": self.action_id,
            "step": self.step,
            "error_code": self.error_code,
        }


class FleetAgent:
    """Checks in for one kiosk: ``FleetAgent(client, updater, clock=…, data_dir=…)``."""

    def __init__(
        self,
        client: DdiClient,
        updater: Updater,
        *,
        clock: Clock,
        data_dir: Path,
        health: HealthSource | None = None,
        outbox: OutboxGauge | None = None,
        hardware: Mapping[str, str] | None = None,
        observer: FleetObserver | None = None,
        rng: random.Random | None = None,
        default_sleep_s: float = 300.0,
        min_sleep_s: float = 10.0,
        max_sleep_s: float = 86_400.0,
        backoff_base_s: float = 30.0,
        max_backoff_s: float = 3600.0,
        probe_timeout_s: float = 5.0,
    ) -> None:
        self._client = client
        self._updater = updater
        self._clock = clock
        self.data_dir = data_dir
        self.journal = Journal(data_dir / "action.json")
        self._downloads = data_dir / "downloads"
        self._health = health
        self._outbox = outbox
        self._hardware = dict(hardware or {})
        self._observer = observer
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._default_sleep = default_sleep_s
        self._sleep_bounds = (min_sleep_s, max_sleep_s)
        self._backoff_base = backoff_base_s
        self._max_backoff = max_backoff_s
        self._probe_timeout = probe_timeout_s
        self._failures = 0
        self._sent: dict[str, str] | None = None
        self._verified: dict[int, Path] = {}
        self._told: set[tuple[int, str]] = set()
        self.last: CheckIn | None = None

    # -- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Check in until ``stop`` is set, sleeping as the server or the backoff says."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            report = await self.step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), report.next_s)

    async def step(self, *, act: bool = True) -> CheckIn:
        """One check-in; never raises. ``act=False`` looks at an offer without acting on it."""
        at = self._clock.now()
        try:
            sleep_s, action_id, step = await self._check_in(act)
        except asyncio.CancelledError:
            raise
        except KioskError as exc:
            report = self._failed(exc, at)
        except Exception as exc:  # a bug of ours must not stop the kiosk either
            _log.error("fleet: check-in failed on a bug", exc_info=exc)
            report = CheckIn(Result.ERROR, at, self._backoff(), error_code="INTERNAL")
        else:
            self._failures = 0
            low, high = self._sleep_bounds
            report = CheckIn(Result.OK, at, min(max(sleep_s, low), high), action_id, step)
        self.last = report
        if self._observer is not None:
            self._observer.polled(report.result.value, at)
        try:
            write_json_atomically(self.data_dir / "last.json", report.as_dict(), durable=False)
        except OSError as exc:
            _log.debug("fleet: last check-in not recorded (%s)", exc)
        return report

    def _failed(self, exc: KioskError, at: datetime) -> CheckIn:
        if isinstance(exc, FleetUnauthorized):
            result, delay = Result.UNAUTHORIZED, self._backoff(at_most=True)
        elif isinstance(exc, FleetUnavailable):
            result, delay = Result.UNAVAILABLE, self._backoff()
        else:
            result, delay = Result.PROTOCOL, self._backoff()
        _log.warning(
            "fleet: %s [%s] %s; next check-in in %.0f s",
            exc.message("en"),
            exc.code,
            exc.detail,
            delay,
        )
        return CheckIn(result, at, delay, error_code=exc.code)

    def _backoff(self, *, at_most: bool = False) -> float:
        """Exponential from ``backoff_base_s``, capped, with jitter over its upper half."""
        self._failures += 1
        exponent = min(self._failures - 1, 30)
        ceiling = self._max_backoff if at_most else self._backoff_base * 2.0**exponent
        ceiling = min(ceiling, self._max_backoff)
        return self._rng.uniform(ceiling / 2, ceiling)

    # -- one check-in ---------------------------------------------------------------------

    async def _check_in(self, act: bool) -> tuple[float, int | None, str]:
        closed = await self._settle()
        base = await self._client.poll(default_sleep_s=self._default_sleep)
        await self._push_attributes(requested=base.config_data_href is not None)
        if base.cancel_href is not None:
            action_id = action_id_from_href(base.cancel_href)
            return base.sleep_s, action_id, await self._cancel(action_id)
        if base.deployment_href is None:
            return base.sleep_s, closed, "closed" if closed is not None else "idle"
        action_id = action_id_from_href(base.deployment_href)
        if action_id == closed:
            return base.sleep_s, action_id, "closed"
        if not act:
            offered = await self._client.deployment(action_id)
            return base.sleep_s, action_id, f"offered:{offered.version}"
        return base.sleep_s, action_id, await self._deploy(action_id)

    async def _probe_health(self) -> HealthReport | None:
        if self._health is None:
            return None
        try:
            return await asyncio.wait_for(self._health(), self._probe_timeout)
        except Exception as exc:  # an attribute is not worth a failed check-in
            _log.debug("fleet: no health summary (%r)", exc)
            return None

    async def _probe_outbox(self) -> OutboxDepth | None:
        if self._outbox is None:
            return None
        try:
            return await asyncio.wait_for(self._outbox(), self._probe_timeout)
        except Exception as exc:
            _log.debug("fleet: no outbox depth (%r)", exc)
            return None

    async def _push_attributes(self, *, requested: bool) -> None:
        data = controller_attributes(
            self._updater.state(),
            health=await self._probe_health(),
            outbox=await self._probe_outbox(),
            hardware=self._hardware,
        )
        if requested or data != self._sent:
            await self._client.put_config(data)
            self._sent = data

    async def _tell(self, action_id: int, execution: Execution, detail: str) -> None:
        """Intermediate feedback, best effort (the action goes on if it is lost)."""
        try:
            await self._client.feedback(
                action_id, feedback_body(execution, details=(detail,), at=self._clock.now())
            )
        except KioskError as exc:
            _log.info(
                "fleet: %s feedback for action %s not sent [%s]", execution, action_id, exc.code
            )

    async def _close(self, action_id: int, finished: Finished, detail: str) -> None:
        """The final ``closed`` feedback; raises when the server cannot take it (retried)."""
        body = feedback_body(Execution.CLOSED, finished, (detail,), at=self._clock.now())
        await self._client.feedback(action_id, body)
        self._told = {t for t in self._told if t[0] != action_id}

    # -- after the reboot -----------------------------------------------------------------

    async def _settle(self) -> int | None:
        """Close the journal's action from the boot history; its id once closed."""
        record = self.journal.read()
        if record is None:
            return None
        if record.stage is Stage.INSTALLING:
            _log.warning("fleet: install of action %s was interrupted; retried", record.action_id)
            self.journal.clear()
            return None
        state = self._updater.state()
        started = datetime.fromisoformat(record.started_at)
        boots = [
            b
            for b in state.history
            if b.version == record.version and (b.at is None or b.at >= started)
        ]
        boot = boots[-1] if boots else None
        if boot is None and state.version == record.version:
            return None  # running it, not recorded yet: the self-test has not decided
        if boot is not None and boot.outcome is BootOutcome.TRYING:
            return None
        if boot is not None and boot.outcome is BootOutcome.GOOD:
            detail = text("fleet.detail.good", "en", version=boot.version, slot=boot.slot)
            finished = Finished.SUCCESS
        else:
            reason = boot.reason if boot is not None else text("fleet.detail.not_booted", "en")
            detail = text(
                "fleet.detail.rolled_back", "en", version=record.from_version, reason=reason
            )
            finished = Finished.FAILURE
        await self._close(record.action_id, finished, detail)
        self.journal.clear()
        _log.warning("fleet: action %s closed: %s (%s)", record.action_id, finished, detail)
        return record.action_id

    # -- a deployment ---------------------------------------------------------------------

    def _bundle_path(self, action_id: int, filename: str) -> Path:
        return self._downloads / f"{action_id}-{_UNSAFE.sub('_', filename)}"

    async def _deploy(self, action_id: int) -> str:
        record = self.journal.read()
        if record is not None and record.action_id == action_id:
            return "waiting:health"  # rebooted into it; the self-test has not decided yet
        deployment = await self._client.deployment(action_id)
        state = self._updater.state()
        if deployment.version == state.version:
            detail = text("fleet.detail.already", "en", version=state.version)
            await self._close(action_id, Finished.SUCCESS, detail)
            return "closed:success"
        artifacts = deployment.artifacts
        if len(artifacts) != 1:
            detail = text("fleet.detail.unsupported", "en", count=len(artifacts))
            await self._close(action_id, Finished.FAILURE, detail)
            return "closed:failure"
        verdict = decide(deployment, self._updater.busy())
        if verdict.step is Step.NOTHING:
            return f"waiting:{verdict.waiting_for}"
        artifact = artifacts[0]
        bundle = self._verified.get(action_id)
        if bundle is None:
            if (action_id, "download") not in self._told:
                self._told.add((action_id, "download"))
                detail = text("fleet.detail.downloading", "en", filename=artifact.filename)
                await self._tell(action_id, Execution.DOWNLOAD, detail)
            dest = self._bundle_path(action_id, artifact.filename)
            try:
                bundle = await self._client.download(artifact, dest)
            except ArtifactRejected as exc:
                self._drop(action_id, dest)
                detail = text("fleet.detail.failed", "en", code=exc.code, reason=exc.message("en"))
                await self._close(action_id, Finished.FAILURE, detail)
                return "closed:failure"
            self._verified[action_id] = bundle
            detail = text("fleet.detail.downloaded", "en", filename=artifact.filename)
            await self._tell(action_id, Execution.DOWNLOADED, detail)
        waiting = verdict.waiting_for if verdict.step is Step.DOWNLOAD else self._updater.busy()
        if waiting:
            if (action_id, waiting) not in self._told:
                self._told.add((action_id, waiting))
                detail = text("fleet.detail.waiting", "en", reason=waiting)
                await self._tell(action_id, Execution.SCHEDULED, detail)
            return f"waiting:{waiting}"
        return await self._install(action_id, deployment.version, bundle)

    async def _install(self, action_id: int, version: str, bundle: Path) -> str:
        state = self._updater.state()
        record = InFlight(
            action_id=action_id,
            version=version,
            from_version=state.version,
            from_slot=state.booted_slot,
            stage=Stage.INSTALLING,
            started_at=self._clock.now().isoformat(),
        )
        self.journal.write(record)
        await self._tell(
            action_id, Execution.PROCEEDING, text("fleet.detail.installing", "en", version=version)
        )
        try:
            await self._updater.install(bundle)
        except KioskError as exc:
            self.journal.clear()
            self._drop(action_id, bundle)
            detail = text("fleet.detail.failed", "en", code=exc.code, reason=exc.message("en"))
            await self._close(action_id, Finished.FAILURE, detail)
            return "closed:failure"
        self.journal.write(replace(record, stage=Stage.REBOOTING))
        self._drop(action_id, bundle)
        await self._tell(
            action_id, Execution.PROCEEDING, text("fleet.detail.rebooting", "en", version=version)
        )
        try:
            await self._updater.reboot()
        except KioskError as exc:
            self.journal.clear()
            detail = text("fleet.detail.failed", "en", code=exc.code, reason=exc.message("en"))
            await self._close(action_id, Finished.FAILURE, detail)
            return "closed:failure"
        return "rebooting"

    def _drop(self, action_id: int, bundle: Path | None = None) -> None:
        self._verified.pop(action_id, None)
        for path in [bundle] if bundle else self._downloads.glob(f"{action_id}-*"):
            path.unlink(missing_ok=True)

    async def _cancel(self, action_id: int) -> str:
        order = await self._client.cancel_order(action_id)
        record = self.journal.read()
        if record is not None and record.action_id == order.stop_id:
            detail = text("fleet.detail.cancel_rejected", "en")
            await self._client.cancel_feedback(
                action_id,
                feedback_body(Execution.REJECTED, details=(detail,), at=self._clock.now()),
            )
            return "cancel:rejected"
        self._drop(order.stop_id)
        detail = text("fleet.detail.canceled", "en")
        body = feedback_body(Execution.CLOSED, Finished.SUCCESS, (detail,), at=self._clock.now())
        await self._client.cancel_feedback(action_id, body)
        return "cancel:closed"
