"""The identity flow: homologation order, freshness, swapped cards, OIDs, cross-checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import pytest

from kiosk.clock import FrozenClock
from kiosk.domain.datamatrix import InsDataMatrix, parse_payload, payload_for
from kiosk.domain.ins import (
    IdentityNotQualified,
    IdentityStatus,
    Ins,
    InsEnvironment,
    StrictTraits,
    Trait,
)
from kiosk.domain.vitale import Beneficiary, VitaleCardData
from kiosk.errors import IdentityError, Unavailable
from kiosk.insi.client import InsiClient
from kiosk.insi.protocol import ResultCode
from kiosk.insi.results import InsiTraits
from kiosk.records.record import IdentityRecord
from kiosk.services.identity import (
    CardSwapped,
    DataMatrixMismatch,
    FlowOrder,
    IdentityFlow,
    MemoryIdentityStore,
    Source,
    TraitsMismatch,
    VitaleTooOld,
)
from kiosk.sim.insi.service import InsiSimulator, SimFault
from tests.insi_sim import clock, http, insi, sim
from tests.pki import pki

__all__ = ["clock", "http", "insi", "pki", "sim"]

# The beneficiaries of kiosk/sim/data/cards/adult.toml and family.toml.
PAUL = Beneficiary("MARTIN-TEST", "PAUL", "19800523", "180057505612342", 1, "00")
SOPHIE = Beneficiary("DURAND-TEST", "SOPHIE", "19850312", "285036912304579", 1, "00")
LEA = Beneficiary("DURAND-TEST", "LEA", "20150612", "285036912304579", 1, "06")
LOUIS = Beneficiary("DURAND-TEST", "LOUIS", "20150612", "285036912304579", 2, "06")
ADULT = VitaleCardData("SIM-V2-000001", (PAUL,))
FAMILY = VitaleCardData("SIM-V2-000002", (SOPHIE, LEA, LOUIS))
GARNIER = VitaleCardData(
    "SIM-V2-000099", (Beneficiary("GARNIER-TEST", "MARIE", "19900101", "290011305508813", 1),)
)


@dataclass
class Slot:
    """The Vitale slot of the desk reader, as the flow sees it: whatever card is in it."""

    card: VitaleCardData
    reads: int = 0

    async def read(self) -> VitaleCardData:
        self.reads += 1
        return self.card


@pytest.fixture
def store() -> MemoryIdentityStore:
    return MemoryIdentityStore()


FlowFor = Callable[..., IdentityFlow]


@pytest.fixture
def flow_for(insi: InsiClient, store: MemoryIdentityStore, clock: FrozenClock) -> FlowFor:
    """``flow_for(slot, environment=TEST)``: the desk's flow reading the card in ``slot``."""

    def make(slot: Slot, environment: InsEnvironment = InsEnvironment.TEST) -> IdentityFlow:
        return IdentityFlow(
            read_card=slot.read, insi=insi, store=store, clock=clock, environment=environment
        )

    return make


async def test_vitale_then_insi_then_document_gives_a_qualified_identity(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(ADULT))
    await flow.read_card()
    flow.choose(0)
    check = await flow.query_insi()
    assert check.code is ResultCode.ONE
    assert check.card_differences == ()
    assert check.identity is not None
    assert check.identity.status is IdentityStatus.RECUP
    flow.confirm_document()
    record = await flow.store(ipp="IPP-000123")
    assert record.identity.status is IdentityStatus.QUAL
    assert record.sources == {Source.VITALE, Source.INSI, Source.DOCUMENT}
    assert record.ipp == "IPP-000123"
    assert record.identity.ins_for_transmission().matricule.value == "180057505612342"
    assert parse_payload(payload_for(record.identity)).ins == record.identity.ins
    assert list(store.records) == ["180057505612342"]


async def test_without_a_document_the_identity_is_only_recovered_and_its_ins_stays_home(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(ADULT))
    await flow.read_card()
    flow.choose(0)
    await flow.query_insi()
    record = await flow.store()
    assert record.identity.status is IdentityStatus.RECUP
    with pytest.raises(IdentityNotQualified):
        record.identity.ins_for_transmission()
    with pytest.raises(IdentityNotQualified):
        payload_for(record.identity)


async def _visit(flow_for: FlowFor, *, document: bool) -> IdentityRecord:
    """The adult's card read, INSi asked, the document checked or not: stored."""
    flow = flow_for(Slot(ADULT))
    await flow.read_card()
    flow.choose(0)
    await flow.query_insi()
    if document:
        flow.confirm_document()
    return await flow.store()


async def test_a_patient_qualified_at_an_earlier_visit_stays_qualified_when_insi_agrees(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    """RNIV: a qualified identity keeps its status; the next visit checks it is the same one.

    The self-service kiosk checks no document: only a patient an agent qualified before,
    whom INSi returns unchanged, goes on there (issue 18).
    """
    await _visit(flow_for, document=True)
    record = await _visit(flow_for, document=False)  # no document this time
    assert record.identity.status is IdentityStatus.QUAL
    assert record.sources == {Source.VITALE, Source.INSI, Source.EARLIER}


async def test_an_earlier_qualification_with_other_traits_is_not_kept(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    qualified = await _visit(flow_for, document=True)
    ins = qualified.identity.ins
    assert ins is not None
    old = qualified.identity.traits  # as if INSi had corrected the birth place since
    changed = dataclasses.replace(old, birth_place="99100")
    store.records[ins.matricule.value] = dataclasses.replace(
        qualified, identity=dataclasses.replace(qualified.identity, traits=changed)
    )
    assert (await _visit(flow_for, document=False)).identity.status is IdentityStatus.RECUP


async def test_doubtful_identity_is_never_qualified(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(ADULT))
    await flow.read_card()
    flow.choose(0)
    await flow.query_insi()
    flow.confirm_document()
    assert (await flow.store(doubtful=True)).identity.status is IdentityStatus.PROV


async def test_steps_out_of_order_are_refused_and_nothing_is_stored(
    flow_for: FlowFor, store: MemoryIdentityStore, sim: InsiSimulator
) -> None:
    flow = flow_for(Slot(ADULT))
    with pytest.raises(FlowOrder):
        flow.choose(0)
    with pytest.raises(FlowOrder):
        await flow.query_insi()
    await flow.read_card()
    with pytest.raises(FlowOrder):
        await flow.query_insi()
    flow.choose(0)
    with pytest.raises(FlowOrder):
        flow.confirm_document()
    with pytest.raises(FlowOrder):
        await flow.store()
    assert store.records == {}
    assert sim.calls == []


@pytest.mark.parametrize(("minutes", "stale"), [(19.9, False), (20.1, True)])
async def test_vitale_data_older_than_20_minutes_forces_a_new_read(
    flow_for: FlowFor, clock: FrozenClock, minutes: float, stale: bool
) -> None:
    flow = flow_for(Slot(ADULT))
    await flow.read_card()
    flow.choose(0)
    clock.advance(minutes * 60)
    if not stale:
        assert (await flow.query_insi()).code is ResultCode.ONE
        return
    with pytest.raises(VitaleTooOld):
        await flow.query_insi()
    assert flow.step == "idle"
    await flow.read_card()
    flow.choose(0)
    assert (await flow.query_insi()).code is ResultCode.ONE


@pytest.mark.parametrize(
    "swapped",
    [
        VitaleCardData("SIM-V2-000003", (PAUL,)),
        replace(ADULT, beneficiaries=(replace(PAUL, given_name="PIERRE"),)),
    ],
    ids=["other-serial", "other-beneficiary"],
)
async def test_a_card_swapped_after_the_choice_restarts_the_flow(
    flow_for: FlowFor, sim: InsiSimulator, swapped: VitaleCardData
) -> None:
    slot = Slot(ADULT)
    flow = flow_for(slot)
    await flow.read_card()
    flow.choose(0)
    slot.card = swapped
    with pytest.raises(CardSwapped):
        await flow.query_insi()
    assert flow.step == "idle"
    assert sim.calls == []


async def test_a_card_swapped_before_storing_stores_nothing(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    slot = Slot(FAMILY)
    flow = flow_for(slot)
    await flow.read_card()
    flow.choose(1)
    await flow.query_insi()
    slot.card = ADULT
    with pytest.raises(CardSwapped):
        await flow.store()
    assert store.records == {}


async def test_a_test_identity_is_refused_by_a_production_configuration(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(ADULT), InsEnvironment.PRODUCTION)
    await flow.read_card()
    flow.choose(0)
    with pytest.raises(IdentityError, match="production"):
        await flow.query_insi()
    with pytest.raises(FlowOrder):
        await flow.store()
    assert store.records == {}


async def test_twins_on_one_card_are_told_apart_by_their_rank(flow_for: FlowFor) -> None:
    flow = flow_for(Slot(FAMILY))
    await flow.read_card()
    names = []
    for index in (1, 2):
        flow.choose(index)
        check = await flow.query_insi()
        assert check.identity is not None
        names.append(check.identity.traits.birth_given_names)
    assert names == [("LEA",), ("LOUIS",)]


async def test_several_identities_must_be_refined_never_picked(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(GARNIER))
    await flow.read_card()
    flow.choose(0)
    vague = InsiTraits.create(
        family_name="GARNIER-TEST", given_names="MARIE", sex="F", birth_date="1990-01-01"
    )
    check = await flow.query_insi(vague)
    assert check.must_refine
    assert check.identity is None
    with pytest.raises(FlowOrder):
        await flow.store()
    refined = replace(vague, birth_place="13055")
    check = await flow.query_insi(refined)
    assert check.identity is not None
    assert check.identity.ins is not None
    assert check.identity.ins.matricule.value == "290011305508813"


async def test_a_card_that_differs_on_one_trait_says_which_and_blocks_until_a_document(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(FAMILY))
    await flow.read_card()
    flow.choose(0)
    check = await flow.query_insi()
    assert [d.trait for d in check.card_differences] == [Trait.BIRTH_FAMILY_NAME]
    with pytest.raises(TraitsMismatch) as caught:
        await flow.store()
    assert "nom" in caught.value.message("fr")
    assert store.records == {}
    flow.confirm_document()
    assert (await flow.store()).identity.status is IdentityStatus.QUAL


async def test_a_data_matrix_of_another_person_is_refused_with_the_differing_traits(
    flow_for: FlowFor, store: MemoryIdentityStore
) -> None:
    flow = flow_for(Slot(FAMILY))
    await flow.read_card()
    flow.choose(2)  # LOUIS
    await flow.query_insi()
    lea = InsDataMatrix(
        Ins.of("215066912304169", "1.2.250.1.213.1.4.10"),
        StrictTraits.create("DURAND-TEST", "LEA", date(2015, 6, 12), "F", "69123"),
    )
    with pytest.raises(DataMatrixMismatch) as caught:
        flow.check_datamatrix(lea)
    assert caught.value.ins_differs
    assert {d.trait for d in caught.value.differences} == {Trait.BIRTH_GIVEN_NAMES, Trait.SEX}
    louis = InsDataMatrix(
        Ins.of("115066912304221", "1.2.250.1.213.1.4.10"),
        StrictTraits.create("DURAND-TEST", "LOUIS", date(2015, 6, 12), "M", "69123"),
    )
    flow.check_datamatrix(louis)
    record = await flow.store()
    assert Source.DATAMATRIX in record.sources


async def test_service_down_stores_nothing_and_the_agent_can_retry(
    flow_for: FlowFor, store: MemoryIdentityStore, sim: InsiSimulator
) -> None:
    flow = flow_for(Slot(ADULT))
    await flow.read_card()
    flow.choose(0)
    sim.inject(SimFault.HTTP_500)
    with pytest.raises(Unavailable):
        await flow.query_insi()
    with pytest.raises(FlowOrder):
        await flow.store()
    assert store.records == {}
    assert (await flow.query_insi()).code is ResultCode.ONE
