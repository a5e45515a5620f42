"""Card events counted for IT's metrics (issue 20: the Prometheus endpoint's "card events"),
over the real pcscd with vpcd cards, and read back by the appliance's collector."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from kiosk.cards.pcsc import PcscMonitor
from kiosk.cards.ports import CardEvent, CardInserted, CardKind, CardRemoved, ReaderAdded
from kiosk.cards.tally import TALLY_FILE, CardTally, TalliedMonitor
from kiosk.metrics import ApplianceCollector
from kiosk.sim.cards.desk import CardDesk


def _scrape(data: Path) -> str:
    registry = CollectorRegistry()
    registry.register(ApplianceCollector(data, version="0.2.0", booted=lambda: "A"))
    return generate_latest(registry).decode()


async def test_cards_the_app_sees_are_counted_and_scraped(
    desk: CardDesk, monitor: PcscMonitor, tmp_path: Path
) -> None:
    tallied = TalliedMonitor(monitor, CardTally(tmp_path / TALLY_FILE))
    events = tallied.events()

    async def next_card() -> CardEvent:
        async with asyncio.timeout(15):
            while isinstance(event := await anext(events), ReaderAdded):
                pass
            return event

    desk.insert("adult")
    assert isinstance(await next_card(), CardInserted)
    desk.pull("adult")
    assert isinstance(await next_card(), CardRemoved)
    desk.insert("cpe-agent")
    inserted = await next_card()
    assert isinstance(inserted, CardInserted)
    assert inserted.kind is CardKind.CPS
    await events.aclose()

    text = _scrape(tmp_path)
    assert 'kiosk_card_events_total{event="inserted.vitale"} 1.0' in text
    assert 'kiosk_card_events_total{event="inserted.cps"} 1.0' in text
    assert 'kiosk_card_events_total{event="removed"} 1.0' in text
    slots = len(desk.slots)
    assert f'kiosk_card_events_total{{event="reader.added"}} {slots}.0' in text

    # The counts survive the app's restart: a counter never goes down.
    again = CardTally(tmp_path / TALLY_FILE)
    again.count(CardRemoved(desk.slots[0]))
    assert 'kiosk_card_events_total{event="removed"} 2.0' in _scrape(tmp_path)


def test_a_torn_tally_file_reads_as_no_events_and_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / TALLY_FILE
    path.parent.mkdir()
    path.write_text('{"inserted.vitale": 4')  # cut mid-write by a power loss
    assert "kiosk_card_events_total{" not in _scrape(tmp_path)
    tally = CardTally(path)
    tally.count(CardInserted("r", b"\x3b", CardKind.VITALE))
    assert CardTally.read(path) == {"inserted.vitale": 1}


def test_a_tally_that_cannot_be_written_never_stops_the_cards(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    tally = CardTally(blocked / TALLY_FILE)  # its directory cannot be made
    for _ in range(3):
        tally.count(CardRemoved("r"))  # no exception reaches the monitor's loop
    records = [r for r in caplog.records if r.getMessage() == "cards.tally_unwritten"]
    assert len(records) == 1  # said once, not at every card
