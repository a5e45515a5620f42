"""The identity flow of tests/services/test_identity.py with the persistent store plugged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kiosk.clock import FrozenClock
from kiosk.domain.ins import IdentityStatus, InsEnvironment
from kiosk.domain.vitale import Beneficiary, VitaleCardData
from kiosk.errors import Unavailable
from kiosk.insi.client import InsiClient
from kiosk.records import RecordStore
from kiosk.records.record import IdentityRecord, Source
from kiosk.services.identity import IdentityFlow
from kiosk.sim.insi.service import InsiSimulator, SimFault
from tests.insi_sim import clock, http, insi, sim
from tests.pki import pki

__all__ = ["clock", "http", "insi", "pki", "sim"]

# The beneficiary of kiosk/sim/data/cards/adult.toml.
PAUL = Beneficiary("MARTIN-TEST", "PAUL", "19800523", "180057505612342", 1, "00")
ADULT = VitaleCardData("SIM-V2-000001", (PAUL,))


async def read_adult() -> VitaleCardData:
    return ADULT


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RecordStore]:
    """The persistent store in this test's directory, closed afterwards (closing is idempotent)."""
    store = await RecordStore.open(tmp_path / "records.sqlite", InsEnvironment.TEST)
    yield store
    await store.close()


@pytest.fixture
def flow(store: RecordStore, insi: InsiClient, clock: FrozenClock) -> IdentityFlow:
    """The desk's identity flow on PAUL's card, storing into ``store``."""
    return IdentityFlow(
        read_card=read_adult, insi=insi, store=store, clock=clock, environment=InsEnvironment.TEST
    )


async def admit(flow: IdentityFlow, *, document: bool, ipp: str | None = None) -> IdentityRecord:
    """Read the card, choose PAUL, ask INSi, check his document when shown, then store."""
    await flow.read_card()
    flow.choose(0)
    await flow.query_insi()
    if document:
        flow.confirm_document()
    return await flow.store(ipp=ipp)


async def test_a_qualified_identity_is_still_there_after_a_restart(
    tmp_path: Path, store: RecordStore, flow: IdentityFlow
) -> None:
    record = await admit(flow, document=True, ipp="IPP-000123")
    await store.close()

    reopened = await RecordStore.open(tmp_path / "records.sqlite", InsEnvironment.TEST)
    try:
        assert record.identity.ins is not None
        stored = await reopened.get(record.identity.ins)
        assert stored is not None
        assert stored.current == record
        assert stored.current.identity.status is IdentityStatus.QUAL
        assert stored.current.sources == {Source.VITALE, Source.INSI, Source.DOCUMENT}
        assert stored.current.identity.ins_for_transmission().matricule.value == "180057505612342"
    finally:
        await reopened.close()


async def test_a_later_admission_without_a_document_stays_qualified_on_the_record(
    store: RecordStore, flow: IdentityFlow, clock: FrozenClock
) -> None:
    """RNIV: the qualification is kept for the same identity; the record says so."""
    first = await admit(flow, document=True, ipp="IPP-000123")

    clock.advance(3600 * 24 * 30)
    second = await admit(flow, document=False)
    assert second.identity.status is IdentityStatus.QUAL
    assert second.sources == {Source.VITALE, Source.INSI, Source.EARLIER}

    assert first.identity.ins is not None
    stored = await store.get(first.identity.ins)
    assert stored is not None
    assert stored.current.identity.status is IdentityStatus.QUAL
    assert stored.current.ipp == "IPP-000123"  # the site's IPP is kept
    assert stored.current.created_at == first.created_at
    assert stored.current.checked_at == second.checked_at
    assert stored.latest.sources == {Source.VITALE, Source.INSI, Source.EARLIER}


async def test_service_down_stores_nothing(
    store: RecordStore, flow: IdentityFlow, sim: InsiSimulator
) -> None:
    await flow.read_card()
    flow.choose(0)
    sim.inject(SimFault.HTTP_500)
    with pytest.raises(Unavailable):
        await flow.query_insi()
    assert await store.count() == 0
