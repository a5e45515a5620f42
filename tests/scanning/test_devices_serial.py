"""Serial/CDC scanners through pyserial on a real pseudo-terminal: reads, cuts, unplug, recovery."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kiosk.scanning.devices import SerialScanner
from kiosk.scanning.framing import SerialFramer
from kiosk.scanning.ports import ScanEvent, ScannerState, ScanPayload, ScanRejected, ScanStatus
from tests.scanning.payloads import PAYLOAD


class _Cable:
    """A pty standing in for the scanner; ``path`` is a stable symlink like a udev name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master = -1

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self.master = master
        if self.path.is_symlink():
            self.path.unlink()
        self.path.symlink_to(os.ttyname(slave))
        os.close(slave)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1
        self.path.unlink()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)


async def _next(stream: AsyncIterator[ScanEvent]) -> ScanEvent:
    return await asyncio.wait_for(anext(stream), 30)


@pytest.fixture
def cable(tmp_path: Path) -> Iterator[_Cable]:
    link = _Cable(tmp_path / "kiosk-scanner-serial")
    link.plug()
    yield link
    if link.master >= 0:
        link.unplug()


async def test_a_serial_read_keeps_gs_and_a_cut_read_is_rejected(cable: _Cable) -> None:
    scanner = SerialScanner(str(cable.path), gap_s=0.3, retry_s=0.1)
    stream = scanner.events()
    assert (await _next(stream)).state is ScannerState.CONNECTED  # type: ignore[union-attr]
    cable.send(PAYLOAD.encode() + b"\r\n")
    read = await _next(stream)
    assert isinstance(read, ScanPayload)
    assert read.data == PAYLOAD.encode()
    cable.send(PAYLOAD.encode()[:30])  # and nothing more
    cut = await _next(stream)
    assert isinstance(cut, ScanRejected)
    assert "incomplete" in cut.error.message("en").lower()
    cable.send(b"https://www.monespacesante.fr\r")
    again = await _next(stream)
    assert isinstance(again, ScanPayload)
    assert again.text == "https://www.monespacesante.fr"
    await scanner.close()
    await stream.aclose()


async def test_unplug_is_reported_and_the_scanner_recovers(cable: _Cable) -> None:
    scanner = SerialScanner(str(cable.path), gap_s=0.3, retry_s=0.1)
    stream = scanner.events()
    assert (await _next(stream)).state is ScannerState.CONNECTED  # type: ignore[union-attr]
    cable.unplug()
    gone = await _next(stream)
    assert isinstance(gone, ScanStatus)
    assert gone.state is ScannerState.DISCONNECTED
    cable.plug()
    back = await _next(stream)
    assert isinstance(back, ScanStatus)
    assert back.state is ScannerState.CONNECTED
    cable.send(b"IS01<GS>S5F\n")
    read = await _next(stream)
    assert isinstance(read, ScanPayload)
    assert read.data == b"IS01\x1dS5F"
    await scanner.close()
    await stream.aclose()


async def test_a_scanner_absent_at_start_is_reported_then_found(tmp_path: Path) -> None:
    cable = _Cable(tmp_path / "later")
    scanner = SerialScanner(str(cable.path), retry_s=0.1)
    stream = scanner.events()
    absent = await _next(stream)
    assert isinstance(absent, ScanStatus)
    assert absent.state is ScannerState.DISCONNECTED
    cable.plug()
    try:
        assert (await _next(stream)).state is ScannerState.CONNECTED  # type: ignore[union-attr]
    finally:
        await scanner.close()
        await stream.aclose()
        cable.unplug()


def test_the_framer_splits_on_cr_lf_and_ignores_empty_lines() -> None:
    framer = SerialFramer()
    events = framer.feed(b"ONE\r\n\r\nTWO\nTH") + framer.feed(b"REE\r")
    assert [e.data for e in events if isinstance(e, ScanPayload)] == [b"ONE", b"TWO", b"THREE"]
    assert not framer.pending
