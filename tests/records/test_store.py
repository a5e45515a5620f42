"""Persistent identity records: round trip, restarts, status rule, OIDs, DMP facts, disk full."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.consent import InformationChannel, InformationGiven
from kiosk.domain.ins import (
    OID_INS_NIR_TEST,
    Identity,
    IdentityStatus,
    Ins,
    InsEnvironment,
    StrictTraits,
)
from kiosk.errors import IdentityError, StorageError
from kiosk.records import RecordMissing, RecordStore
from kiosk.records.record import IdentityRecord, KnownDmp, Source
from kiosk.services.enrolment import DmpRecords
from kiosk.services.identity import IdentityStore

# Fictitious people under the test OID (DOMAIN.md §7), valid keys.
PAUL_INS = Ins.of("180057505612342", OID_INS_NIR_TEST)
PAUL = StrictTraits.create("MARTIN-TEST", "PAUL", date(1980, 5, 23), "M", "75056")
SOPHIE_INS = Ins.of("285036912304579", OID_INS_NIR_TEST)
SOPHIE = StrictTraits.create("DURAND-TEST", "SOPHIE", date(1985, 3, 12), "F", "69123")
T0 = datetime(2026, 1, 15, 9, 30, 0, 123456, tzinfo=UTC)
QUALIFIED = frozenset({Source.VITALE, Source.INSI, Source.DOCUMENT})
RECOVERED = frozenset({Source.VITALE, Source.INSI})


def record(
    ins: Ins = PAUL_INS,
    traits: StrictTraits = PAUL,
    status: IdentityStatus = IdentityStatus.QUAL,
    sources: frozenset[Source] = QUALIFIED,
    *,
    at: datetime = T0,
    ipp: str | None = "IPP-000123",
    history: tuple[Ins, ...] = (),
) -> IdentityRecord:
    return IdentityRecord(Identity(ins, traits, status), sources, history, at, at, ipp)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RecordStore]:
    opened = await RecordStore.open(tmp_path / "records.sqlite", InsEnvironment.TEST)
    yield opened
    await opened.close()


async def test_a_record_survives_a_restart_whole(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    saved = record(history=(SOPHIE_INS,))
    first = await RecordStore.open(path, InsEnvironment.TEST)
    await first.save(saved)
    await first.close()

    again = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        stored = await again.get(PAUL_INS)
        assert stored is not None
        assert stored.current == saved
        assert stored.current.identity.ins_for_transmission() == PAUL_INS
        assert stored.dmp is None
        assert await again.get(SOPHIE_INS) is None
        assert await again.count() == 1
    finally:
        await again.close()


async def test_the_record_never_shows_the_nir_or_traits(store: RecordStore) -> None:
    await store.save(record())
    stored = await store.get(PAUL_INS)
    assert stored is not None
    shown = repr(stored)
    assert "180057505612342" not in shown
    assert "MARTIN" not in shown
    assert "IPP-000123" not in shown


async def test_a_lower_status_is_logged_but_never_replaces_a_qualified_identity(
    store: RecordStore,
) -> None:
    await store.save(record())
    later = T0 + timedelta(days=30)
    await store.save(record(status=IdentityStatus.RECUP, sources=RECOVERED, at=later, ipp=None))
    stored = await store.get(PAUL_INS)
    assert stored is not None
    assert stored.current.identity.status is IdentityStatus.QUAL
    assert stored.current.sources == QUALIFIED
    assert stored.current.checked_at == T0
    assert stored.latest.status is IdentityStatus.RECUP
    assert stored.latest.sources == RECOVERED
    assert stored.latest.at == later
    assert [o.applied for o in stored.observations] == [True, False]


async def test_a_higher_status_replaces_and_an_absent_ipp_keeps_the_known_one(
    store: RecordStore,
) -> None:
    await store.save(record(status=IdentityStatus.RECUP, sources=RECOVERED))
    later = T0 + timedelta(hours=1)
    await store.save(record(at=later, ipp=None))
    stored = await store.get(PAUL_INS)
    assert stored is not None
    assert stored.current.identity.status is IdentityStatus.QUAL
    assert stored.current.ipp == "IPP-000123"
    assert stored.current.created_at == T0  # the first admission's time stays
    assert stored.current.checked_at == later
    assert [o.status for o in stored.observations] == [IdentityStatus.RECUP, IdentityStatus.QUAL]


async def test_a_test_identity_is_refused_by_a_production_store_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records.sqlite"
    production = await RecordStore.open(path, InsEnvironment.PRODUCTION)
    try:
        with pytest.raises(IdentityError) as caught:
            await production.save(record())
        assert caught.value.detail == "oid_test_in_production"
        assert await production.count() == 0
    finally:
        await production.close()


async def test_a_test_file_is_refused_when_read_by_a_production_kiosk(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    test = await RecordStore.open(path, InsEnvironment.TEST)
    await test.save(record())
    await test.close()
    production = await RecordStore.open(path, InsEnvironment.PRODUCTION)
    try:
        with pytest.raises(IdentityError):
            await production.get(PAUL_INS)
    finally:
        await production.close()


async def test_dmp_facts_are_kept_on_the_record_and_spare_a_td02_after_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records.sqlite"
    first = await RecordStore.open(path, InsEnvironment.TEST)
    ports: tuple[IdentityStore, DmpRecords] = (first, first)
    await ports[0].save(record())
    assert await ports[1].known(PAUL_INS) is None
    await ports[1].remember(PAUL_INS, KnownDmp(exists=True, authorized=True))
    await first.close()

    again = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        assert await again.known(PAUL_INS) == KnownDmp(exists=True, authorized=True)
        await again.save(record(at=T0 + timedelta(days=1)))  # a new admission
        assert await again.known(PAUL_INS) == KnownDmp(exists=True, authorized=True)
    finally:
        await again.close()


async def test_a_dmp_fact_without_an_identity_record_is_refused(store: RecordStore) -> None:
    with pytest.raises(RecordMissing):
        await store.remember(SOPHIE_INS, KnownDmp(exists=False, authorized=False))
    assert await store.known(SOPHIE_INS) is None


async def test_the_information_given_is_kept_apart_and_read_back_at_a_later_visit(
    tmp_path: Path,
) -> None:
    """Seed 001: information, consent and creation "peuvent être déconnectés dans le temps"."""
    path = tmp_path / "records.sqlite"
    first = await RecordStore.open(path, InsEnvironment.TEST)
    await first.save(record())
    assert await first.informed(PAUL_INS) is None
    on_kiosk = InformationGiven(
        brochure=False,
        at=T0,
        channel=InformationChannel.KIOSK,
        by="KIOSK-DEMO-0001",
        brochure_version="2026-01",
    )
    await first.inform(PAUL_INS, on_kiosk)
    await first.close()

    again = await RecordStore.open(path, InsEnvironment.TEST)  # a later visit
    try:
        assert await again.informed(PAUL_INS) == on_kiosk
        at_desk = InformationGiven(
            brochure=True,
            at=T0 + timedelta(days=3),
            channel=InformationChannel.DESK,
            by="3750100000/0000042",
            brochure_version="2026-01",
        )
        await again.inform(PAUL_INS, at_desk)
        assert await again.informed(PAUL_INS) == at_desk  # the last one counts
        assert await again.informed(SOPHIE_INS) is None
    finally:
        await again.close()
    with closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE information SET brochure = 1")  # the lines are append-only


async def test_information_without_an_identity_record_is_refused(store: RecordStore) -> None:
    given = InformationGiven(brochure=True, at=T0, by="3750100000/0000042")
    with pytest.raises(RecordMissing):
        await store.inform(SOPHIE_INS, given)
    assert await store.informed(SOPHIE_INS) is None


async def test_readers_on_other_connections_see_only_whole_records(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    writer = await RecordStore.open(path, InsEnvironment.TEST)
    readers = [await RecordStore.open(path, InsEnvironment.TEST) for _ in range(3)]
    try:

        async def write() -> None:
            for day in range(20):
                status = IdentityStatus.RECUP if day % 2 else IdentityStatus.QUAL
                await writer.save(record(status=status, at=T0 + timedelta(days=day)))

        async def read(reader: RecordStore) -> list[int]:
            seen = []
            for _ in range(20):
                stored = await reader.get(PAUL_INS)
                if stored is not None:
                    # A record is never seen without the observation that wrote it.
                    assert stored.current.identity.status is IdentityStatus.QUAL
                    assert stored.current.checked_at in {o.at for o in stored.observations}
                    seen.append(len(stored.observations))
                await asyncio.sleep(0)
            return seen

        results = await asyncio.gather(write(), *(read(r) for r in readers))
        for seen in results[1:]:
            assert seen == sorted(seen)  # each reader moves forward only
        final = await readers[0].get(PAUL_INS)
        assert final is not None
        assert len(final.observations) == 20
    finally:
        for reader in readers:
            await reader.close()
        await writer.close()


def fictitious(n: int) -> Ins:
    body = f"1800575{n:06d}"
    return Ins.of(f"{body}{97 - int(body) % 97:02d}", OID_INS_NIR_TEST)


async def test_a_full_disk_is_a_storage_error_and_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    small = await RecordStore.open(path, InsEnvironment.TEST, max_page_count=12)
    saved: list[Ins] = []

    async def fill() -> None:
        for n in range(10_000):
            await small.save(record(fictitious(n), ipp=f"IPP-{n:06d}"))
            saved.append(fictitious(n))

    try:
        with pytest.raises(StorageError) as caught:
            await fill()
        assert "Disk full" in caught.value.message_en
        assert "registre des identités" in caught.value.message_fr
    finally:
        await small.close()
    assert saved

    roomy = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        assert await roomy.count() == len(saved)
        for n, ins in enumerate(saved):
            stored = await roomy.get(ins)
            assert stored is not None
            assert stored.current.ipp == f"IPP-{n:06d}"
        await roomy.save(record(fictitious(len(saved))))  # room again: the store works
    finally:
        await roomy.close()


NAME = st.text(alphabet="ABCÉÈÇÏÔZaeyç -'", min_size=1, max_size=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    family=NAME,
    given_names=st.lists(NAME, min_size=1, max_size=3),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    sex=st.sampled_from("FM"),
    place=st.sampled_from(["75056", "2A004", "2B033", "99100", "69123"]),
)
def test_any_valid_traits_come_back_unchanged(
    tmp_path: Path,
    family: str,
    given_names: list[str],
    born: date,
    sex: str,
    place: str,
) -> None:
    try:
        traits = StrictTraits.create(family, given_names, born, sex, place)
    except IdentityError:
        return  # not a name the INS accepts: nothing to store

    async def round_trip() -> IdentityRecord | None:
        store = await RecordStore.open(tmp_path / "traits.sqlite", InsEnvironment.TEST)
        try:
            await store.save(record(traits=traits))
            stored = await store.get(PAUL_INS)
            return None if stored is None else stored.current
        finally:
            await store.close()

    back = asyncio.run(round_trip())
    assert back is not None
    assert back.identity.traits == traits


async def test_a_file_from_newer_software_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    store = await RecordStore.open(path, InsEnvironment.TEST)
    await store.save(record())
    await store.close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError) as caught:
        await RecordStore.open(path, InsEnvironment.TEST)
    assert "update the software" in caught.value.message_en
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM identity").fetchone() == (1,)


async def test_a_downgrade_is_explicit_applied_and_says_why(store: RecordStore) -> None:
    await store.save(record())
    doubtful = record(status=IdentityStatus.PROV, sources=RECOVERED, at=T0 + timedelta(days=1))
    with pytest.raises(StorageError):
        await store.downgrade(doubtful, reason="  ")
    await store.downgrade(doubtful, reason="doubtful attribute: birth date contested")
    stored = await store.get(PAUL_INS)
    assert stored is not None
    assert stored.current.identity.status is IdentityStatus.PROV
    with pytest.raises(IdentityError):
        stored.current.identity.ins_for_transmission()  # its INS no longer leaves the kiosk
    assert stored.latest.applied
    assert stored.latest.reason == "doubtful attribute: birth date contested"
    assert [o.status for o in stored.observations] == [IdentityStatus.QUAL, IdentityStatus.PROV]


async def test_a_file_at_the_first_schema_is_brought_forward_keeping_its_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records.sqlite"
    store = await RecordStore.open(path, InsEnvironment.TEST)
    await store.save(record())
    await store.close()
    with closing(sqlite3.connect(path)) as conn:  # back to schema 1, as a first release left it
        conn.execute("ALTER TABLE observation DROP COLUMN reason")
        conn.execute("DROP TABLE information")
        conn.execute("DROP TABLE sent_document")
        conn.execute("PRAGMA user_version = 1")
    store = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        await store.save(record(status=IdentityStatus.RECUP, sources=RECOVERED))
        stored = await store.get(PAUL_INS)
        assert stored is not None
        assert stored.current.identity.status is IdentityStatus.QUAL
        assert [o.reason for o in stored.observations] == [None, None]
    finally:
        await store.close()
