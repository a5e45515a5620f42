"""The demo's earlier desk visits: identities an agent qualified before the demo starts.

The self-service kiosk checks no identity document (RNIV: only an agent does), so it
goes on alone only for a patient qualified at an earlier visit whom INSi returns
unchanged (:func:`kiosk.domain.ins.keeps_qualification`). ``kiosk demo`` writes these
records into the kiosk's own record store at start, where a real site's earlier
admissions would be (``data/earlier_visits.toml``, people of the simulated INSi).
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from kiosk.domain.ins import Identity, IdentityStatus, Ins
from kiosk.records.record import IdentityRecord, Source
from kiosk.sim.insi.service import POPULATION_FILE, load_population

__all__ = ["VISITS_FILE", "earlier_records", "seed_earlier_visits"]

VISITS_FILE = Path(__file__).parent / "data" / "earlier_visits.toml"


class _Records(Protocol):
    async def current(self, ins: Ins) -> IdentityRecord | None: ...

    async def save(self, record: IdentityRecord) -> None: ...


def earlier_records(
    now: datetime, path: Path = VISITS_FILE, population: Path = POPULATION_FILE
) -> tuple[IdentityRecord, ...]:
    """The qualified records of the file's visits, as the desk stored them then."""
    oid, people = load_population(population)
    by_matricule = {person.matricule: person for person in people}
    visits = tomllib.loads(path.read_text(encoding="utf-8"))["visit"]
    records = []
    for visit in visits:
        person = by_matricule[visit["matricule"]]
        at = now - timedelta(days=int(visit["days_ago"]))
        traits = person.traits()
        records.append(
            IdentityRecord(
                identity=Identity(Ins.of(person.matricule, oid), traits, IdentityStatus.QUAL),
                sources=frozenset({Source.VITALE, Source.INSI, Source.DOCUMENT}),
                history=tuple(Ins.of(old, oid) for old in person.history),
                created_at=at,
                checked_at=at,
            )
        )
    return tuple(records)


async def seed_earlier_visits(records: _Records, now: datetime) -> int:
    """Store the earlier visits the record store does not hold yet; how many were added."""
    added = 0
    for record in earlier_records(now):
        ins = record.identity.ins
        if ins is not None and await records.current(ins) is None:
            await records.save(record)
            added += 1
    return added
