"""The establishment's indicators, computed from the audit chain (seed 002, issue 17 item 7).

Seed 002 asks the establishment to follow « le nombre de DMP alimentés, le type et le
nombre de documents ». The chain already holds every fact, so the indicators are read
from it and from nothing else: an indicator is then exactly as trustworthy as the
chain, which is verified in the same pass (:func:`compute`); a chain that does not
verify gives no figures at all (:class:`ChainNotVerified`).

What each counter reads (the lines ``kiosk/services/admission.py`` and the outbox write):

* ``dmp_created``: a ``dmp.create`` row acknowledged by the DMP (``outbox.acked``), on
  the day of its acknowledgement, for the agent of its ``dmp.creation_queued`` line
  (else the row's signer); a ``dmp.created`` line without an acknowledgement counts too;
* ``creations_deferred``: a creation queued at the desk that the DMP had neither
  acknowledged nor refused when the agent moved on (no ``dmp.created`` line), on the
  day it was queued; its delay runs from the enqueue to the acknowledgement, whenever
  that came (``deferred_acknowledged``);
* ``authorizations_given`` / ``_refused``, ``consents_refused``: the desk's lines;
* ``documents_sent``: a ``dmp.submit`` row acknowledged, by the type its
  ``dmp.document_queued`` line names (``unknown`` when no such line exists);
* ``dead_letters``: an outbox row gone to dead letters, by its kind, once per row, on
  the day it first went there.

Nothing personal leaves this module: the lines' subjects (a masked INS, a row id)
serve only to join lines and are never reported; agents are named by the identifier
the audit gives them. Days are the site's local days (``zone``): a day is the
instants from one local midnight to the next, 23 or 25 hours long on DST changes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.audit.store import AuditLog
from kiosk.domain.audit import AuditKind, AuditRecord
from kiosk.errors import StorageError
from kiosk.locale import msg

__all__ = [
    "COUNTERS",
    "NO_AGENT",
    "UNKNOWN_TYPE",
    "Cell",
    "ChainNotVerified",
    "Fact",
    "Indicators",
    "Report",
    "Tally",
    "VolumeWarning",
    "compute",
    "local_day",
]

NO_AGENT = "-"
"""The agent of a line that names none (a system action)."""
UNKNOWN_TYPE = "unknown"
"""The type of a sent document whose queued line is missing."""

COUNTERS = (
    "dmp_created",
    "authorizations_given",
    "authorizations_refused",
    "consents_refused",
    "creations_deferred",
    "deferred_acknowledged",
    "documents_sent",
    "dead_letters",
)
"""The plain counters, in the order the report shows them."""


class ChainNotVerified(StorageError):
    """The audit chain does not verify: no indicator is computed from it."""

    code = "AUDIT_CHAIN"


def local_day(at: datetime, zone: ZoneInfo) -> date:
    """The site's local day of an instant."""
    return at.astimezone(zone).date()


@dataclass(frozen=True)
class Fact:
    """One counted thing: when, whose, which counter; a label for by-type counters."""

    at: datetime
    agent: str
    counter: str
    label: str = ""
    delay_s: float | None = None
    """For ``deferred_acknowledged``: seconds from enqueue to acknowledgement."""


@dataclass
class Cell:
    """The counters of one day × agent (or of a sum of them)."""

    counts: Counter[str] = field(default_factory=Counter)
    documents: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    delays_s: list[float] = field(default_factory=list)

    def add(self, fact: Fact) -> None:
        """Count one fact."""
        self.counts[fact.counter] += 1
        if fact.counter == "documents_sent":
            self.documents[fact.label] += 1
        elif fact.counter == "dead_letters":
            self.dead_letters[fact.label] += 1
        if fact.delay_s is not None:
            self.delays_s.append(fact.delay_s)

    def merge(self, other: Cell) -> None:
        """Add another cell's counts to this one."""
        self.counts.update(other.counts)
        self.documents.update(other.documents)
        self.dead_letters.update(other.dead_letters)
        self.delays_s.extend(other.delays_s)

    def delay(self, which: str) -> float | None:
        """``median`` or ``max`` of the deferred creations' delays, in seconds."""
        if not self.delays_s:
            return None
        value = statistics.median(self.delays_s) if which == "median" else max(self.delays_s)
        return round(value, 3)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a cell."""
        data: dict[str, Any] = {name: self.counts[name] for name in COUNTERS}
        data["deferred_delay_s"] = {"median": self.delay("median"), "max": self.delay("max")}
        data["documents_by_type"] = dict(sorted(self.documents.items()))
        data["dead_letters_by_kind"] = dict(sorted(self.dead_letters.items()))
        return data


@dataclass(frozen=True)
class VolumeWarning:
    """A day whose documents sent exceed the service's daily volume."""

    day: date
    documents_sent: int
    daily_document_volume: int


@dataclass
class _Creation:
    agent: str = ""
    queued_at: datetime | None = None
    created_at_desk: datetime | None = None


@dataclass
class _Row:
    kind: str
    key: str
    enqueued_at: datetime
    actor: str
    acked_at: datetime | None = None
    dead_at: datetime | None = None


class Tally:
    """Reads records in chain order and keeps what the counters need; :meth:`facts` at the end."""

    def __init__(self) -> None:
        self.events = 0
        self._rows: dict[str, _Row] = {}
        self._row_of_key: dict[str, str] = {}
        self._creations: dict[str, _Creation] = {}
        self._document_lines: dict[str, tuple[str, str]] = {}
        self._facts: list[Fact] = []

    def __call__(self, record: AuditRecord) -> None:
        """Take one record (an ``AuditLog.verify`` observer)."""
        self.events += 1
        event = record.event
        kind, at, actor, details = str(event.kind), event.at, event.actor, event.details
        key = details.get("key", "")
        if kind == AuditKind.OUTBOX_ENQUEUED:
            self._rows[event.subject] = _Row(details.get("kind", ""), key, at, actor)
            self._row_of_key[key] = event.subject
        elif kind == AuditKind.OUTBOX_ACKED:
            row = self._rows.get(event.subject)
            if row is not None and row.acked_at is None:
                row.acked_at = at
        elif kind == AuditKind.OUTBOX_DEAD:
            self._dead(event.subject, at, actor, details.get("kind", ""))
        elif kind == AuditKind.DMP_CREATION_QUEUED:
            creation = self._creations.setdefault(key, _Creation())
            creation.agent, creation.queued_at = actor, at
        elif kind == AuditKind.DMP_CREATED:
            self._creations.setdefault(key, _Creation(agent=actor)).created_at_desk = at
        elif kind == AuditKind.DOCUMENT_QUEUED:
            self._document_lines[key] = (details.get("type", "") or UNKNOWN_TYPE, actor)
        elif kind in _DESK_COUNTERS:
            self._facts.append(Fact(at, actor or NO_AGENT, _DESK_COUNTERS[kind]))

    def _dead(self, row_id: str, at: datetime, actor: str, kind: str) -> None:
        row = self._rows.get(row_id)
        if row is None:
            # A row enqueued before the chain began: counted, with what the line says.
            row = self._rows[row_id] = _Row(kind, "", at, actor)
        if row.dead_at is not None:
            return  # retried, then dead again: one dead letter per row
        row.dead_at = at
        self._facts.append(Fact(at, self._agent_of(row), "dead_letters", row.kind or kind))

    def _agent_of(self, row: _Row) -> str:
        if row.kind == "dmp.create" and row.key in self._creations:
            return self._creations[row.key].agent or row.actor or NO_AGENT
        if row.kind == "dmp.submit" and row.key in self._document_lines:
            return self._document_lines[row.key][1] or row.actor or NO_AGENT
        return row.actor or NO_AGENT

    def facts(self) -> list[Fact]:
        """Every counted fact of the records read so far."""
        facts = list(self._facts)
        for key, creation in self._creations.items():
            facts.extend(self._creation_facts(key, creation))
        for row in self._rows.values():
            if row.acked_at is None:
                continue
            if row.kind == "dmp.create" and row.key not in self._creations:
                facts.append(Fact(row.acked_at, row.actor or NO_AGENT, "dmp_created"))
            elif row.kind == "dmp.submit":
                label = self._document_lines.get(row.key, (UNKNOWN_TYPE, ""))[0]
                facts.append(Fact(row.acked_at, self._agent_of(row), "documents_sent", label))
        return facts

    def _creation_facts(self, key: str, creation: _Creation) -> Iterator[Fact]:
        row_id = self._row_of_key.get(key)
        row = self._rows.get(row_id) if row_id else None
        agent = creation.agent or (row.actor if row else "") or NO_AGENT
        acked = row.acked_at if row else None
        created = acked or creation.created_at_desk
        if created is not None:
            yield Fact(created, agent, "dmp_created")
        queued = creation.queued_at
        if queued is None or creation.created_at_desk is not None:
            return
        if row is not None and row.dead_at is not None and row.dead_at <= queued:
            return  # refused while the agent waited: a failure, not a deferral
        yield Fact(queued, agent, "creations_deferred")
        if row is not None and acked is not None:
            delay = (acked - row.enqueued_at).total_seconds()
            yield Fact(queued, agent, "deferred_acknowledged", delay_s=max(delay, 0.0))


_DESK_COUNTERS: Mapping[str, str] = {
    AuditKind.AUTHORIZATION_GIVEN: "authorizations_given",
    AuditKind.AUTHORIZATION_REFUSED: "authorizations_refused",
    AuditKind.CONSENT_REFUSED: "consents_refused",
}


@dataclass(frozen=True)
class Indicators:
    """The facts of a verified chain, ready to be cut into periods."""

    facts: tuple[Fact, ...]
    events: int
    head_hash: str

    def report(
        self, start: date, end: date, zone: ZoneInfo, *, daily_document_volume: int
    ) -> Report:
        """The counters of the local days ``start`` to ``end`` (both included)."""
        cells: dict[tuple[date, str], Cell] = {}
        for fact in self.facts:
            day = local_day(fact.at, zone)
            if start <= day <= end:
                cells.setdefault((day, fact.agent), Cell()).add(fact)
        return Report(
            start=start,
            end=end,
            timezone=zone.key,
            daily_document_volume=daily_document_volume,
            events=self.events,
            head_hash=self.head_hash,
            cells=cells,
        )

    def totals(self) -> Cell:
        """Every fact of the chain in one cell (the Prometheus counters)."""
        cell = Cell()
        for fact in self.facts:
            cell.add(fact)
        return cell

    def by_agent(self) -> dict[str, Cell]:
        """Every fact of the chain, per agent."""
        cells: dict[str, Cell] = {}
        for fact in self.facts:
            cells.setdefault(fact.agent, Cell()).add(fact)
        return cells


@dataclass(frozen=True)
class Report:
    """The indicators of a period: per day × agent, with the sums a manager reads."""

    start: date
    end: date
    timezone: str
    daily_document_volume: int
    events: int
    head_hash: str
    cells: Mapping[tuple[date, str], Cell]

    def days(self) -> list[date]:
        """Every day of the period, empty ones included."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def day(self, day: date) -> Cell:
        """All agents of one day."""
        return _sum(cell for (d, _), cell in self.cells.items() if d == day)

    def agent(self, agent: str) -> Cell:
        """All days of one agent."""
        return _sum(cell for (_, a), cell in self.cells.items() if a == agent)

    def agents(self) -> list[str]:
        """The agents with at least one fact in the period."""
        return sorted({a for _, a in self.cells})

    def total(self) -> Cell:
        """The whole period."""
        return _sum(self.cells.values())

    def warnings(self) -> list[VolumeWarning]:
        """The days above the service's daily document volume."""
        limit = self.daily_document_volume
        sent = ((day, self.day(day).counts["documents_sent"]) for day in self.days())
        return [VolumeWarning(day, n, limit) for day, n in sent if n > limit]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (README, « kiosk report »)."""
        return {
            "period": {
                "from": self.start.isoformat(),
                "to": self.end.isoformat(),
                "timezone": self.timezone,
            },
            "chain": {"ok": True, "events": self.events, "head": self.head_hash},
            "daily_document_volume": self.daily_document_volume,
            "total": self.total().as_dict(),
            "days": [
                {
                    "day": day.isoformat(),
                    **self.day(day).as_dict(),
                    "agents": [
                        {"agent": agent, **cell.as_dict()}
                        for (d, agent), cell in sorted(self.cells.items())
                        if d == day
                    ],
                }
                for day in self.days()
            ],
            "agents": [{"agent": a, **self.agent(a).as_dict()} for a in self.agents()],
            "warnings": [
                {
                    "day": w.day.isoformat(),
                    "documents_sent": w.documents_sent,
                    "daily_document_volume": w.daily_document_volume,
                }
                for w in self.warnings()
            ],
        }

    def csv_rows(self) -> list[list[str]]:
        """The CSV shape: a header, then rows scoped day_agent, day, agent and total."""
        types = sorted({t for c in self.cells.values() for t in c.documents})
        kinds = sorted({k for c in self.cells.values() for k in c.dead_letters})
        header = ["scope", "day", "agent", *COUNTERS]
        header += ["deferred_delay_median_s", "deferred_delay_max_s"]
        header += [f"documents_sent:{t}" for t in types] + [f"dead_letters:{k}" for k in kinds]

        def row(scope: str, day: str, agent: str, cell: Cell) -> list[str]:
            values = [str(cell.counts[name]) for name in COUNTERS]
            delays = [_text(cell.delay("median")), _text(cell.delay("max"))]
            by_type = [str(cell.documents[t]) for t in types]
            by_kind = [str(cell.dead_letters[k]) for k in kinds]
            return [scope, day, agent, *values, *delays, *by_type, *by_kind]

        rows = [header]
        rows += [
            row("day_agent", d.isoformat(), a, cell) for (d, a), cell in sorted(self.cells.items())
        ]
        rows += [row("day", d.isoformat(), "", self.day(d)) for d in self.days()]
        rows += [row("agent", "", a, self.agent(a)) for a in self.agents()]
        rows.append(row("total", "", "", self.total()))
        return rows


def _sum(cells: Iterable[Cell]) -> Cell:
    total = Cell()
    for cell in cells:
        total.merge(cell)
    return total


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


async def compute(log: AuditLog) -> Indicators:
    """Verify the chain and count its facts in one pass; refuse a chain that does not verify."""
    tally = Tally()
    checked = await log.verify(tally)
    if not checked.ok:
        raise ChainNotVerified(
            msg("audit.report.chain_broken", broken_at=checked.broken_at, reason=checked.reason),
            detail=f"row {checked.broken_at}",
        )
    return Indicators(tuple(tally.facts()), tally.events, checked.head_hash)
