"""The simulated hawkBit server's model and management side: what an operator would click.

Entities as hawkBit's documentation names them (``docs/datamodel.md``,
``docs/rollout-management.md``, ``docs/targetstate.md``): targets with a security token
and attributes, software modules with artifacts, distribution sets, actions (one per
target and assignment) and rollouts that split targets into deployment groups.

Rollouts follow "Cascading Deployment Group Execution": the next group starts when the
running group's **success condition** (percentage of successfully installed targets) is
reached; the **error condition** (percentage of failed installations) "triggers an
emergency shutdown of the entire rollout". Feedback maps to action statuses by the DDI
"State Machine Mapping" table (``docs/direct-device-integration-api.md``): ``closed`` →
FINISHED (``success``/``none``) or ERROR (``failure``), ``canceled`` → CANCELED,
``rejected`` → WARNING, ``download`` → DOWNLOAD, ``downloaded`` → DOWNLOADED,
``proceeding``/``scheduled``/``resumed`` → RUNNING.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from kiosk.clock import Clock, SystemClock

__all__ = [
    "Action",
    "ActionStatus",
    "ActionType",
    "DistributionSet",
    "Feedback",
    "FleetState",
    "MaintenanceWindow",
    "Rollout",
    "SimArtifact",
    "SoftwareModule",
    "Target",
    "TargetStatus",
]


class ActionType(StrEnum):
    """hawkBit's action types; ``soft`` is offered as ``attempt``."""

    FORCED = "forced"
    SOFT = "soft"
    DOWNLOAD_ONLY = "downloadonly"


class ActionStatus(StrEnum):
    """Action statuses of the update server."""

    SCHEDULED = "scheduled"
    """In a rollout group that has not started: not shown to the device."""
    RUNNING = "running"
    DOWNLOAD = "download"
    DOWNLOADED = "downloaded"
    WARNING = "warning"
    FINISHED = "finished"
    ERROR = "error"
    CANCELING = "canceling"
    CANCELED = "canceled"


CLOSED = frozenset({ActionStatus.FINISHED, ActionStatus.ERROR, ActionStatus.CANCELED})


class TargetStatus(StrEnum):
    """``docs/targetstate.md``: UNKNOWN, IN_SYNC, PENDING, ERROR, REGISTERED."""

    UNKNOWN = "unknown"
    REGISTERED = "registered"
    PENDING = "pending"
    IN_SYNC = "in_sync"
    ERROR = "error"


@dataclass
class SimArtifact:
    """A file of a software module, with its hashes; ``served`` replaces the bytes sent."""

    filename: str
    data: bytes = field(repr=False)
    served: bytes | None = field(default=None, repr=False)
    """Tampered bytes to send instead (the declared hashes stay those of ``data``)."""

    @property
    def hashes(self) -> dict[str, str]:
        return {
            "sha1": hashlib.sha1(self.data, usedforsecurity=False).hexdigest(),
            "md5": hashlib.md5(self.data, usedforsecurity=False).hexdigest(),
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }

    @property
    def body(self) -> bytes:
        return self.data if self.served is None else self.served


@dataclass
class SoftwareModule:
    """A software module (the DDI ``chunk``)."""

    id: int
    type: str
    name: str
    version: str
    artifacts: dict[str, SimArtifact]


@dataclass
class DistributionSet:
    """What is assigned to targets: one or more modules under a name and version."""

    id: int
    name: str
    version: str
    modules: list[SoftwareModule]


@dataclass(frozen=True)
class MaintenanceWindow:
    """A daily window (UTC) in which installation may happen."""

    start: time
    duration: timedelta

    def available(self, now: datetime) -> bool:
        """Whether ``now`` is inside today's or yesterday's window."""
        for day in (now.date(), now.date() - timedelta(days=1)):
            opens = datetime.combine(day, self.start, tzinfo=now.tzinfo)
            if opens <= now < opens + self.duration:
                return True
        return False


@dataclass(frozen=True)
class Feedback:
    """One feedback message as the server received it."""

    at: datetime
    execution: str
    finished: str
    details: tuple[str, ...]
    timestamp: int | None = None


@dataclass
class Action:
    """The assignment of a distribution set to one target."""

    id: int
    controller_id: str
    ds: DistributionSet
    type: ActionType
    status: ActionStatus
    window: MaintenanceWindow | None = None
    rollout: str | None = None
    feedback: list[Feedback] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status not in CLOSED


@dataclass
class Target:
    """A controller the server knows."""

    controller_id: str
    token: str = field(repr=False)
    status: TargetStatus = TargetStatus.UNKNOWN
    attributes: dict[str, str] = field(default_factory=dict)
    installed: DistributionSet | None = None
    request_attributes: bool = True
    last_poll: datetime | None = None
    polls: int = 0


@dataclass
class Rollout:
    """A distribution set rolled out to groups of targets, one group after the other."""

    name: str
    ds: DistributionSet
    groups: list[list[str]]
    success_threshold: float
    error_threshold: float
    type: ActionType
    status: str = "ready"
    """ready, running, stopped (error condition), finished."""
    running_group: int = -1


class FleetState:
    """The server's whole state, and the operator's actions on it."""

    def __init__(
        self, *, tenant: str = "DEFAULT", clock: Clock | None = None, polling_sleep_s: int = 300
    ) -> None:
        self.tenant = tenant
        self.clock = clock or SystemClock()
        self.polling_sleep_s = polling_sleep_s
        self.gateway_token = secrets.token_hex(16)
        self.target_tokens_enabled = True
        self.gateway_tokens_enabled = True
        self.targets: dict[str, Target] = {}
        self.sets: dict[int, DistributionSet] = {}
        self.modules: dict[int, SoftwareModule] = {}
        self.actions: dict[int, Action] = {}
        self.rollouts: dict[str, Rollout] = {}
        self._ids = itertools.count(1)

    # -- inventory ------------------------------------------------------------------------

    def add_target(self, controller_id: str, token: str | None = None) -> Target:
        """Pre-commission a target (status UNKNOWN until it polls)."""
        target = Target(controller_id, token or secrets.token_hex(16))
        self.targets[controller_id] = target
        return target

    def add_distribution_set(
        self, name: str, version: str, bundle: bytes, *, filename: str = "kiosk.raucb"
    ) -> DistributionSet:
        """A set of one ``os`` module holding one artifact."""
        module = SoftwareModule(
            next(self._ids), "os", name, version, {filename: SimArtifact(filename, bundle)}
        )
        self.modules[module.id] = module
        ds = DistributionSet(next(self._ids), name, version, [module])
        self.sets[ds.id] = ds
        return ds

    # -- assignments ----------------------------------------------------------------------

    def assign(
        self,
        ds: DistributionSet,
        controller_ids: list[str],
        *,
        type: ActionType = ActionType.FORCED,
        window: MaintenanceWindow | None = None,
        rollout: str | None = None,
        scheduled: bool = False,
    ) -> list[Action]:
        """One action per target; an open older action is asked to cancel first."""
        made = []
        for controller_id in controller_ids:
            for old in self.open_actions(controller_id):
                if old.status is not ActionStatus.SCHEDULED:
                    old.status = ActionStatus.CANCELING
            status = ActionStatus.SCHEDULED if scheduled else ActionStatus.RUNNING
            action = Action(next(self._ids), controller_id, ds, type, status, window, rollout)
            action.messages.append(f"assignment of {ds.name}:{ds.version}")
            self.actions[action.id] = action
            if not scheduled:
                self.targets[controller_id].status = TargetStatus.PENDING
            made.append(action)
        return made

    def cancel(self, action_id: int) -> None:
        """Ask the device to cancel an open action."""
        action = self.actions[action_id]
        if action.active:
            action.status = ActionStatus.CANCELING

    def open_actions(self, controller_id: str) -> list[Action]:
        """The target's actions not closed yet, oldest first."""
        return [a for a in self.actions.values() if a.controller_id == controller_id and a.active]

    def actions_of(self, controller_id: str) -> list[Action]:
        """Every action of the target, oldest first."""
        return [a for a in self.actions.values() if a.controller_id == controller_id]

    # -- rollouts -------------------------------------------------------------------------

    def create_rollout(
        self,
        name: str,
        ds: DistributionSet,
        controller_ids: list[str],
        *,
        groups: int = 4,
        success_threshold: float = 80.0,
        error_threshold: float = 20.0,
        type: ActionType = ActionType.FORCED,
    ) -> Rollout:
        """Split the targets into ``groups`` deployment groups (scheduled actions)."""
        size = -(-len(controller_ids) // groups)
        split = [controller_ids[i : i + size] for i in range(0, len(controller_ids), size)]
        rollout = Rollout(name, ds, split, success_threshold, error_threshold, type)
        self.rollouts[name] = rollout
        for group in split:
            self.assign(ds, group, type=type, rollout=name, scheduled=True)
        return rollout

    def start_rollout(self, name: str) -> None:
        """Start the first group."""
        rollout = self.rollouts[name]
        rollout.status = "running"
        self._start_group(rollout, 0)

    def _group_actions(self, rollout: Rollout, index: int) -> list[Action]:
        members = set(rollout.groups[index])
        return [
            a
            for a in self.actions.values()
            if a.rollout == rollout.name and a.controller_id in members
        ]

    def _start_group(self, rollout: Rollout, index: int) -> None:
        rollout.running_group = index
        for action in self._group_actions(rollout, index):
            if action.status is ActionStatus.SCHEDULED:
                action.status = ActionStatus.RUNNING
                self.targets[action.controller_id].status = TargetStatus.PENDING

    def advance(self) -> None:
        """Apply each running rollout's success and error conditions."""
        for rollout in self.rollouts.values():
            if rollout.status != "running":
                continue
            actions = self._group_actions(rollout, rollout.running_group)
            count = len(actions) or 1
            errors = sum(a.status is ActionStatus.ERROR for a in actions)
            done = sum(a.status is ActionStatus.FINISHED for a in actions)
            if errors * 100.0 / count > rollout.error_threshold:
                rollout.status = "stopped"
                for action in self.actions.values():
                    if action.rollout == rollout.name and action.status is ActionStatus.SCHEDULED:
                        action.status = ActionStatus.CANCELED
                continue
            last = rollout.running_group == len(rollout.groups) - 1
            if not last and done * 100.0 / count >= rollout.success_threshold:
                self._start_group(rollout, rollout.running_group + 1)
            elif last and not any(a.active for a in actions):
                rollout.status = "finished"

    # -- what the device tells ------------------------------------------------------------

    def record_feedback(self, action: Action, feedback: Feedback, *, cancel: bool) -> None:
        """Apply one feedback message to the action and its target."""
        action.feedback.append(feedback)
        action.messages.extend(feedback.details)
        target = self.targets[action.controller_id]
        execution = feedback.execution
        if cancel:
            if execution in ("closed", "canceled"):
                action.status = ActionStatus.CANCELED
                target.status = (
                    TargetStatus.IN_SYNC if target.installed else TargetStatus.REGISTERED
                )
            elif execution == "rejected":
                action.status = ActionStatus.RUNNING
        elif execution == "closed":
            if feedback.finished == "failure":
                action.status = ActionStatus.ERROR
                target.status = TargetStatus.ERROR
            else:
                action.status = ActionStatus.FINISHED
                target.status = TargetStatus.IN_SYNC
                target.installed = action.ds
                target.request_attributes = True
        elif execution == "canceled":
            action.status = ActionStatus.CANCELED
        elif execution == "rejected":
            action.status = ActionStatus.WARNING
        elif execution == "download":
            action.status = ActionStatus.DOWNLOAD
        elif execution == "downloaded":
            action.status = ActionStatus.DOWNLOADED
        else:
            action.status = ActionStatus.RUNNING
        self.advance()

    # -- the operator's view --------------------------------------------------------------

    def view(self) -> dict[str, dict[str, object]]:
        """Per target: status, installed set, attributes, actions with their statuses."""
        return {
            cid: {
                "status": t.status.value,
                "installed": None if t.installed is None else t.installed.version,
                "attributes": dict(t.attributes),
                "last_poll": None if t.last_poll is None else t.last_poll.isoformat(),
                "actions": [
                    {"id": a.id, "version": a.ds.version, "status": a.status.value}
                    for a in self.actions_of(cid)
                ],
            }
            for cid, t in sorted(self.targets.items())
        }

    def rollout_view(self, name: str) -> dict[str, object]:
        """A rollout's status and its actions' statuses per target."""
        rollout = self.rollouts[name]
        actions = {
            a.controller_id: a.status.value for a in self.actions.values() if a.rollout == name
        }
        return {
            "name": name,
            "version": rollout.ds.version,
            "status": rollout.status,
            "groups": [list(g) for g in rollout.groups],
            "targets": dict(sorted(actions.items())),
        }
