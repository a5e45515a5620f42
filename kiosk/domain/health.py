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
    "Check",
    "HealthReport",
    "Level",
    "certificate_level",
    "clock_level",
    "disk_level",
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
