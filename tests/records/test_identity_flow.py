"""The identity flow of tests/services/test_identity.py with the persistent store plugged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.domain.ins import IdentityStatus, InsEnvironment
from kiosk.domain.vitale import Beneficiary, VitaleCardData
from kiosk.errors import Unavailable
from kiosk.insi.client import InsiClient
from kiosk.insi.messages import LpsIdentity
from kiosk.records import RecordStore
from kiosk.services.identity import IdentityFlow, Source
from kiosk.sim.insi_service import InsiSimulator, SimFault
from kiosk.sim.pki import TestPki, ensure_test_pki
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy

# The beneficiary of kiosk/sim/data/cards/adult.toml.
PAUL = Beneficiary("MARTIN-TEST", "PAUL", "19800523", "180057505612342", 1, "00")
ADULT = VitaleCardData("SIM-V2-000001", (PAUL,))


async def read_adult() -> VitaleCardData:
    return ADULT


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return ensure_test_pki(tmp_path_factory.getbasetemp() / "worker-pki")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def sim(pki: TestPki, clock: FrozenClock) -> InsiSimulator:
    return InsiSimulator(IssuedBy((pki.ca_certificate,), clock.now), clock=clock, delay_s=5.0)


@pytest.fixture
async def insi(sim: InsiSimulator, pki: TestPki, clock: FrozenClock) -> AsyncIterator[InsiClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as http:
        soap = SoapClient(http, "http://sim/", "INSi", timeout_s=1.0)
        lps = LpsIdentity("TEST-CNDA-0000", "kiosk", "0.1.0", "KIOSK-TEST-0001")
        yield InsiClient(soap, pki.signer_for("agent"), lps, structure_id="3750100000", clock=clock)


async def test_a_qualified_identity_is_still_there_after_a_restart(
    tmp_path: Path, insi: InsiClient, clock: FrozenClock
) -> None:
    path = tmp_path / "records.sqlite"
    store = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        flow = IdentityFlow(
            read_card=read_adult,
            insi=insi,
            store=store,
            clock=clock,
            environment=InsEnvironment.TEST,
        )
        await flow.read_card()
        flow.choose(0)
        await flow.query_insi()
        flow.confirm_document()
        record = await flow.store(ipp="IPP-000123")
    finally:
        await store.close()

    reopened = await RecordStore.open(path, InsEnvironment.TEST)
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


async def test_a_later_admission_without_a_document_keeps_the_qualified_record(
    tmp_path: Path, insi: InsiClient, clock: FrozenClock
) -> None:
    store = await RecordStore.open(tmp_path / "records.sqlite", InsEnvironment.TEST)
    try:
        flow = IdentityFlow(
            read_card=read_adult,
            insi=insi,
            store=store,
            clock=clock,
            environment=InsEnvironment.TEST,
        )
        await flow.read_card()
        flow.choose(0)
        await flow.query_insi()
        flow.confirm_document()
        first = await flow.store(ipp="IPP-000123")

        clock.advance(3600 * 24 * 30)
        await flow.read_card()
        flow.choose(0)
        await flow.query_insi()
        second = await flow.store()
        assert second.identity.status is IdentityStatus.RECUP

        assert first.identity.ins is not None
        stored = await store.get(first.identity.ins)
        assert stored is not None
        assert stored.current == first
        assert stored.latest.status is IdentityStatus.RECUP
        assert stored.latest.sources == {Source.VITALE, Source.INSI}
    finally:
        await store.close()


async def test_service_down_stores_nothing(
    tmp_path: Path, sim: InsiSimulator, insi: InsiClient, clock: FrozenClock
) -> None:
    store = await RecordStore.open(tmp_path / "records.sqlite", InsEnvironment.TEST)
    try:
        flow = IdentityFlow(
            read_card=read_adult,
            insi=insi,
            store=store,
            clock=clock,
            environment=InsEnvironment.TEST,
        )
        await flow.read_card()
        flow.choose(0)
        sim.inject(SimFault.HTTP_500)
        with pytest.raises(Unavailable):
            await flow.query_insi()
        assert await store.count() == 0
    finally:
        await store.close()
