"""The kiosk's health: what ``kiosk selftest`` finds, and the rules that grade it.

A check ends ``ok``, ``warn`` (works, but someone should look soon) or ``fail`` (a
patient cannot be served, or a write cannot reach the DMP); the report is as bad as
its worst check. The grading rules are here, pure, so the self-test, the mark-good
decision of an update and the fleet's view read one set of thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "CERT_WARN_DAYS",
    "CLOCK_FAIL_S",
    "CLOCK_WARN_S",
    "DISK_FAIL_BYTES",
    "DISK_WARN_BYTES",
    "SERVICE_CHECKS",
    "UPDATE_CHECKS",
    "Check",
    "HealthReport",
    "Level",
    "Verdict",
    "certificate_level",
    "clock_level",
    "disk_level",
    "update_verdict",
]


class Level(StrEnum):
    """How a check ended, in increasing order of trouble."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        """0, 1, 2: ``max`` by rank is the worse of two."""
        return (Level.OK, Level.WARN, Level.FAIL).index(self)


@dataclass(frozen=True)
class Check:
    """One check's outcome: what was looked at, what was found, what to do about it.

    ``detail`` and ``action`` are user texts (the catalogue's, in the report's language)
    and name devices and services, never a patient.
    """

    name: str
    level: Level
    detail: str
    action: str = ""
    data: dict[str, object] = field(default_factory=dict)
    """Machine-readable facts (ATRs, token labels, bytes free, days left) for ``--json``."""

    def as_dict(self) -> dict[str, object]:
        """The JSON form of ``kiosk selftest --json``."""
        return {
            "name": self.name,
            "level": self.level.value,
            "detail": self.detail,
            "action": self.action,
            "data": self.data,
        }


@dataclass(frozen=True)
class HealthReport:
    """Every check of one self-test, in the order run."""

    at: datetime
    checks: tuple[Check, ...]

    @property
    def level(self) -> Level:
        """The worst check's level; ``ok`` when there is none."""
        return max((c.level for c in self.checks), key=lambda lv: lv.rank, default=Level.OK)

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError if it did not run)."""
        for found in self.checks:
            if found.name == name:
                return found
        raise KeyError(name)

    def as_dict(self) -> dict[str, object]:
        """The JSON document of ``kiosk selftest --json``."""
        return {
            "at": self.at.isoformat(),
            "level": self.level.value,
            "checks": [c.as_dict() for c in self.checks],
        }


CLOCK_WARN_S = 60.0
"""A minute off: signatures still pass, but the logs of two systems stop matching."""

CLOCK_FAIL_S = 300.0
"""Five minutes off: the usual skew a SAML relying party tolerates on a VIHF's
``IssueInstant``/``NotOnOrAfter``; beyond it the DMP refuses the assertion."""


def clock_level(offset_s: float) -> Level:
    """Grade the gap between this kiosk's clock and a server's (either sign)."""
    gap = abs(offset_s)
    if gap > CLOCK_FAIL_S:
        return Level.FAIL
    if gap > CLOCK_WARN_S:
        return Level.WARN
    return Level.OK


DISK_WARN_BYTES = 512 * 1024 * 1024
"""Below this the outbox still takes weeks of admissions, but the journal and an update
download compete with it: tell IT."""

DISK_FAIL_BYTES = 64 * 1024 * 1024
"""Below this a day of queued writes (a few MB each with their documents) might not fit:
the kiosk would have to refuse what it cannot keep."""


def disk_level(free_bytes: int) -> Level:
    """Grade the free space of the data partition."""
    if free_bytes < DISK_FAIL_BYTES:
        return Level.FAIL
    if free_bytes < DISK_WARN_BYTES:
        return Level.WARN
    return Level.OK


CERT_WARN_DAYS = 30
"""A renewal through the IGC Santé takes days to weeks: warn a month ahead."""


def certificate_level(not_after: datetime, now: datetime) -> Level:
    """Grade a certificate by the time it has left (``not_after`` aware, UTC)."""
    left = not_after - now
    if left <= timedelta(0):
        return Level.FAIL
    if left < timedelta(days=CERT_WARN_DAYS):
        return Level.WARN
    return Level.OK


UPDATE_CHECKS = ("readers", "pkcs11", "printer", "database", "disk")
"""What a new slot must pass before it is marked good, whatever the network: the cards,
the tokens, the printer, the databases and room to keep them (issue 20: "cards,
printer, database, and the services when online")."""

SERVICE_CHECKS = ("insi", "dmp", "clock")
"""Counted only when the kiosk is online: a site whose VLAN is down at the moment of an
update must not roll back a good system for it."""


@dataclass(frozen=True)
class Verdict:
    """Whether a freshly booted slot may be marked good, and if not, why."""

    good: bool
    reason: str
    """The failing checks' names and details; empty when good."""
    online: bool


def update_verdict(report: HealthReport) -> Verdict:
    """Grade a new slot from its self-test: warnings pass, any counted failure does not.

    The services count when at least one answered: reached INSi but not the DMP is this
    system's fault (a TLS or proxy change), not the network's.
    """
    by_name = {check.name: check for check in report.checks}
    online = any(
        by_name[name].level is not Level.FAIL for name in ("insi", "dmp") if name in by_name
    )
    counted = [*UPDATE_CHECKS, *(SERVICE_CHECKS if online else ())]
    missing = [name for name in UPDATE_CHECKS if name not in by_name]
    failing = [
        f"{name}: {by_name[name].detail}"
        for name in counted
        if name in by_name and by_name[name].level is Level.FAIL
    ]
    failing += [f"{name}: not checked" for name in missing]
    return Verdict(not failing, "; ".join(failing), online)
