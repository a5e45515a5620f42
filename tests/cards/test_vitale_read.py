"""Reading Vitale cards through the real stack: pyscard → private pcscd → vpcd → virtual card."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cards.atr import UnknownCard
from kiosk.cards.pcsc import CardTimeout, PcscMonitor, exchange
from kiosk.cards.ports import CardInserted, CardKind, CardRemoved
from kiosk.cards.vitale import NotVitale, PcscVitaleReader, ReadJob
from kiosk.domain.vitale import VitaleCardData
from kiosk.errors import CardReadError
from kiosk.errors import CardRemoved as CardRemovedError
from kiosk.sim.cards.desk import CardDesk
from kiosk.sim.cards.virtual import VirtualCard
from tests.cards.conftest import next_of

VECTORS = Path(__file__).parents[1] / "vectors" / "apdu"


def _reader(timeout_s: float = 5.0) -> PcscVitaleReader:
    async def one_exchange(name: str, job: ReadJob) -> VitaleCardData:
        return await exchange(name, job, timeout_s=timeout_s)

    return PcscVitaleReader(one_exchange)


async def _insert_and_wait(
    desk: CardDesk, monitor: PcscMonitor, name: str
) -> tuple[VirtualCard, CardInserted]:
    card = desk.insert(name)
    event = await next_of(monitor, CardInserted)
    assert isinstance(event, CardInserted)
    return card, event


def _transcript_text(card: VirtualCard) -> str:
    return "".join(f"> {c.hex(' ').upper()}\n< {r.hex(' ').upper()}\n" for c, r in card.transcript)


async def test_adult_card_reads_one_insured_beneficiary(
    desk: CardDesk, monitor: PcscMonitor
) -> None:
    _, event = await _insert_and_wait(desk, monitor, "adult")
    assert event.kind is CardKind.VITALE
    data = await _reader().read(event.reader)
    assert data.serial == "SIM-V2-000001"
    (person,) = data.beneficiaries
    assert (person.family_name, person.given_name, person.birth_date) == (
        "MARTIN-TEST",
        "PAUL",
        "19800523",
    )
    assert person.quality_label == "insured"
    assert person.insured_nir == "180057505612342"
    assert "180057505612342" not in repr(data) + repr(person)


async def test_family_card_reads_holder_and_both_twins(
    desk: CardDesk, monitor: PcscMonitor
) -> None:
    _, event = await _insert_and_wait(desk, monitor, "family")
    data = await _reader().read(event.reader)
    names = [(p.given_name, p.birth_rank, p.quality_label) for p in data.beneficiaries]
    assert names == [("SOPHIE", 1, "insured"), ("LEA", 1, "child"), ("LOUIS", 2, "child")]
    twins = data.beneficiaries[1:]
    assert twins[0].birth_date == twins[1].birth_date  # only the rank tells them apart
    assert all(p.insured_nir == "285036912304579" for p in data.beneficiaries)
    assert data.holder is not None
    assert data.holder.given_name == "SOPHIE"


async def test_corsican_vitale1_card_reads(desk: CardDesk, monitor: PcscMonitor) -> None:
    _, event = await _insert_and_wait(desk, monitor, "corsica")
    assert event.profile == "vitale-1"
    data = await _reader().read(event.reader)
    assert data.beneficiaries[0].insured_nir == "173012A00432191"


@pytest.mark.parametrize("name", ["adult", "family"])
async def test_full_read_matches_golden_apdu_transcript(
    desk: CardDesk, monitor: PcscMonitor, name: str
) -> None:
    card, event = await _insert_and_wait(desk, monitor, name)
    card.transcript.clear()
    await _reader().read(event.reader)
    golden = (VECTORS / f"{name}.txt").read_text()
    assert _transcript_text(card) == golden


@pytest.mark.parametrize(
    ("name", "file", "sw"),
    [
        ("broken-6a82", "2004", "6A82"),
        ("broken-6982", "2004", "6982"),
        ("broken-6983", "2004", "6983"),
        ("broken-truncated", "2004", None),
        ("broken-overlength", "2004", None),
    ],
)
async def test_broken_card_names_the_file(
    desk: CardDesk, monitor: PcscMonitor, name: str, file: str, sw: str | None
) -> None:
    _, event = await _insert_and_wait(desk, monitor, name)
    with pytest.raises(CardReadError) as info:
        await _reader().read(event.reader)
    assert f"file {file}" in info.value.message_en
    assert f"fichier {file}" in info.value.message_fr
    if sw is not None:
        assert sw in info.value.message_en


async def test_silent_card_times_out_then_pull_is_reported(
    desk: CardDesk, monitor: PcscMonitor
) -> None:
    _, event = await _insert_and_wait(desk, monitor, "broken-silent")
    with pytest.raises(CardTimeout) as info:
        await _reader(timeout_s=1.0).read(event.reader)
    assert "stopped answering" in info.value.message_en
    desk.pull("broken-silent")
    assert isinstance(await next_of(monitor, CardRemoved), CardRemoved)


async def test_cpe_is_not_read_as_vitale(desk: CardDesk, monitor: PcscMonitor) -> None:
    _, event = await _insert_and_wait(desk, monitor, "cpe-agent")
    assert event.kind is CardKind.CPS
    assert event.reader.endswith("00 01")  # CPE goes to the CPS slot
    with pytest.raises(NotVitale, match="not a Vitale card"):
        await _reader().read(event.reader)


async def test_unknown_card_gives_a_clear_message(desk: CardDesk, monitor: PcscMonitor) -> None:
    _, event = await _insert_and_wait(desk, monitor, "unknown")
    assert event.kind is CardKind.UNKNOWN
    error = UnknownCard(event.atr)
    assert "neither a Vitale nor a CPS/CPE card" in error.message_en
    assert "3B 8A 80 01" in error.message_fr


def _family_apdu_count() -> int:
    return (VECTORS / "family.txt").read_text().count("> ")


@pytest.mark.parametrize("index", range(_family_apdu_count()))
async def test_card_pulled_at_any_apdu_gives_card_removed_and_no_beneficiary(
    desk: CardDesk, monitor: PcscMonitor, index: int
) -> None:
    card, event = await _insert_and_wait(desk, monitor, "family")
    card.pull_at = index
    result: VitaleCardData | None = None
    with pytest.raises(CardRemovedError):
        result = await _reader().read(event.reader)
    assert result is None  # no partial beneficiary list
    desk.cards.pop("family")
    assert isinstance(await next_of(monitor, CardRemoved, event.reader), CardRemoved)
    # the monitor still works: the next card is seen and read
    desk.insert("adult")
    again = await next_of(monitor, CardInserted)
    assert isinstance(again, CardInserted)
    data = await _reader().read(again.reader)
    assert data.beneficiaries[0].given_name == "PAUL"
