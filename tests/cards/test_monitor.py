"""The multi-slot monitor over a real private pcscd with vpcd virtual cards."""

from __future__ import annotations

import asyncio
import time

from kiosk.cards.atr import CardProfiles
from kiosk.cards.pcsc import PcscMonitor, slot_states
from kiosk.cards.ports import CardEvent, CardInserted, CardKind, CardRemoved, ReaderAdded
from kiosk.sim.cards.desk import CardDesk
from kiosk.sim.cards.pcscd import PcscDaemon
from tests.cards.conftest import next_of


# First in the file: the longest test starts early on its worker (each of the 400
# transitions waits for the reader's report of it; four slots share them).
async def test_200_fast_cycles_across_two_readers_deliver_every_event_in_order(
    desk: CardDesk, monitor: PcscMonitor
) -> None:
    slots = desk.slots
    assert len({s.rsplit(" ", 2)[0] for s in slots}) == 2  # two readers, two slots each
    cards = dict(zip(slots, ["adult", "cpe-agent", "family", "cps-doctor"], strict=True))
    log: dict[str, list[str]] = {s: [] for s in slots}
    pending: dict[str, asyncio.Event] = {s: asyncio.Event() for s in slots}

    async def collect() -> None:
        async for event in monitor.events():
            if isinstance(event, CardInserted | CardRemoved):
                log[event.reader].append(type(event).__name__)
                pending[event.reader].set()

    async def cycle(slot: str, times: int) -> None:
        for _ in range(times):
            for action in ("insert", "pull"):
                pending[slot].clear()
                if action == "insert":
                    desk.insert(cards[slot], slot)
                else:
                    desk.pull(cards[slot])
                # wait for the monitor to see each change before the next one: a
                # change undone before the reader's next look never reaches pcscd
                await asyncio.wait_for(pending[slot].wait(), 15)

    collector = asyncio.create_task(collect())
    try:
        await asyncio.gather(*(cycle(slot, 50) for slot in slots))
    finally:
        collector.cancel()
    for slot in slots:
        assert log[slot] == ["CardInserted", "CardRemoved"] * 50


async def test_start_reconciles_readers_and_cards_already_present(desk: CardDesk) -> None:
    desk.insert("family")
    desk.insert("cpe-agent")
    await asyncio.sleep(0)  # cards are in before the monitor exists
    deadline = time.monotonic() + 10
    while sum(atr is not None for _, atr in slot_states()) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    monitor = PcscMonitor(CardProfiles.default(), poll_ms=250)
    try:
        seen: list[CardEvent] = [await monitor.next_event(15) for _ in range(len(desk.slots) + 2)]
    finally:
        await monitor.aclose()
    added = [e.reader for e in seen if isinstance(e, ReaderAdded)]
    inserted = {e.reader: e.kind for e in seen if isinstance(e, CardInserted)}
    assert added == desk.slots
    assert inserted == {desk.slots[0]: CardKind.VITALE, desk.slots[1]: CardKind.CPS}


async def test_insert_and_remove_are_reported_per_slot(
    desk: CardDesk, monitor: PcscMonitor
) -> None:
    desk.insert("adult")
    event = await next_of(monitor, CardInserted)
    assert isinstance(event, CardInserted)
    assert (event.reader, event.kind, event.profile) == (desk.slots[0], CardKind.VITALE, "vitale-2")
    desk.pull("adult")
    removed = await next_of(monitor, CardRemoved)
    assert removed == CardRemoved(desk.slots[0])


async def test_monitor_recovers_after_pcscd_restart(
    desk: CardDesk, monitor: PcscMonitor, pcsc_daemon: PcscDaemon
) -> None:
    desk.insert("family")
    assert isinstance(await next_of(monitor, CardInserted), CardInserted)
    pcsc_daemon.stop()
    assert await next_of(monitor, CardRemoved) == CardRemoved(desk.slots[0])
    pcsc_daemon.start()
    # A bound on waiting, not a speed assertion: state is announced again within 2 s
    # of the daemon being back (the card reconnects to the same vpcd port by itself).
    again = await asyncio.wait_for(next_of(monitor, CardInserted), 2.0)
    assert isinstance(again, CardInserted)
    assert again.reader == desk.slots[0]
