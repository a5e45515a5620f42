"""One private pcscd per test worker, a desk of virtual cards, and a card monitor.

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once, at the first PC/SC context of the
process, so the daemon is session-scoped, and each test points the worker's one
socket path at it (``tests/pcsc_link.py``: a simulated world's test may have pointed
it elsewhere). Each test starts with empty slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from kiosk.cards.atr import CardProfiles
from kiosk.cards.pcsc import PcscMonitor, slot_states
from kiosk.cards.ports import CardEvent
from kiosk.sim.cards.desk import CardDesk
from kiosk.sim.cards.pcscd import PcscDaemon
from tests.pcsc_link import point_pcsc_at


@pytest.fixture(scope="session")
def pcsc_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscDaemon]:
    # Two two-slot readers, as on a desk with a pair of readers (DOMAIN.md §5).
    daemon = PcscDaemon(tmp_path_factory.mktemp("pcscd"), reader_names=("Kiosk Desk", "Kiosk Pair"))
    daemon.start()
    point_pcsc_at(daemon.env["PCSCLITE_CSOCK_NAME"], tmp_path_factory.getbasetemp())
    yield daemon
    daemon.stop()


def wait_slots_empty(timeout: float = 10.0) -> None:
    """Block until pcscd reports every slot empty (the reader reports a pull within 20 ms)."""
    import time

    deadline = time.monotonic() + timeout
    while any(atr is not None for _, atr in slot_states()):
        assert time.monotonic() < deadline, "slots still report a card"
        time.sleep(0.05)


@pytest.fixture
def desk(pcsc_daemon: PcscDaemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardDesk]:
    if pcsc_daemon.pid is None:
        pcsc_daemon.start()
    point_pcsc_at(pcsc_daemon.env["PCSCLITE_CSOCK_NAME"], tmp_path_factory.getbasetemp())
    desk = CardDesk(pcsc_daemon)
    wait_slots_empty()
    yield desk
    desk.pull_all()
    wait_slots_empty()


@pytest.fixture
async def monitor(desk: CardDesk) -> AsyncIterator[PcscMonitor]:
    mon = PcscMonitor(CardProfiles.default(), poll_ms=250)
    mon.start()
    yield mon
    await mon.aclose()


async def next_of(
    monitor: PcscMonitor, kind: type[CardEvent], reader: str | None = None
) -> CardEvent:
    """The next event of ``kind`` (for ``reader``), skipping ReaderAdded noise; 15 s bound."""
    async with asyncio.timeout(15):
        while True:
            event = await monitor.next_event()
            if isinstance(event, kind) and (reader is None or event.reader == reader):
                return event
