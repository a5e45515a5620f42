"""ESC/POS over a real socket to the simulated printer: printing, states, faults, reprint."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from kiosk.clock import FrozenClock
from kiosk.errors import NotFound, PrinterError
from kiosk.printing.ports import JobKind
from kiosk.printing.printers import EscposPrinter, PrinterFault, PrintFailed
from kiosk.printing.profiles import PrinterProfile
from kiosk.printing.queue import PrintQueue
from kiosk.sim.printer.device import SimulatedPrinter
from tests.printing.conftest import PASSWORD, differing_fraction, receipt_job


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedPrinter]:
    async with SimulatedPrinter(width_dots=576) as printer:
        yield printer


def _client(sim: SimulatedPrinter) -> EscposPrinter:
    return EscposPrinter.network("127.0.0.1", sim.port, timeout_s=10)


async def test_a_receipt_comes_out_of_the_simulated_printer_as_rendered(
    sim: SimulatedPrinter, profile80: PrinterProfile
) -> None:
    job = receipt_job(profile80)
    await _client(sim).print(job)
    [printed] = await sim.wait_for_jobs(1)
    expected = Image.open(io.BytesIO(job.png))
    paper = Image.open(io.BytesIO(printed.png))
    assert printed.cut
    assert not printed.dropped
    assert not printed.paper_ran_out
    assert printed.raw.count(job.escpos) == 1
    top = paper.crop((0, 0, 576, expected.height))
    assert differing_fraction(top, expected) == 0.0
    assert paper.height > expected.height  # the feed before the cut, blank
    assert paper.crop((0, expected.height, 576, paper.height)).getextrema() == (255, 255)


@pytest.mark.parametrize(
    ("drive", "field"),
    [("paper_out", "paper_out"), ("cover_open", "cover_open"), ("offline", "online")],
)
async def test_status_reports_what_the_printer_says(
    sim: SimulatedPrinter, drive: str, field: str
) -> None:
    client = _client(sim)
    assert (await client.status()).ready
    getattr(sim, drive)()
    status = await client.status()
    assert status.known
    assert not status.ready
    assert getattr(status, field) is (field != "online")


@pytest.mark.parametrize(
    ("drive", "fault"),
    [
        ("paper_out", PrinterFault.PAPER_OUT),
        ("cover_open", PrinterFault.COVER_OPEN),
        ("offline", PrinterFault.OFFLINE),
    ],
)
async def test_a_printer_that_cannot_print_gets_nothing_and_the_job_is_kept(
    sim: SimulatedPrinter, profile80: PrinterProfile, drive: str, fault: PrinterFault
) -> None:
    getattr(sim, drive)()
    queue = PrintQueue(_client(sim), FrozenClock())
    with pytest.raises(PrintFailed) as caught:
        await queue.submit(receipt_job(profile80))
    assert caught.value.fault is fault
    assert sim.jobs == []
    assert [e.job.job_id for e in queue.pending()] == ["job-1"]
    sim.refill()
    await queue.reprint()
    assert queue.pending() == []
    assert (await sim.wait_for_jobs(1))[0].cut


async def test_paper_running_out_mid_job_is_an_error_and_the_reprint_is_whole(
    sim: SimulatedPrinter, profile80: PrinterProfile
) -> None:
    queue = PrintQueue(_client(sim), FrozenClock())
    sim.run_out_after(300)
    with pytest.raises(PrintFailed) as caught:
        await queue.submit(receipt_job(profile80))
    assert caught.value.fault is PrinterFault.PAPER_OUT_MID_JOB
    assert "papier" in caught.value.message("fr")
    assert "Paper ran out" in caught.value.message("en")
    assert sim.jobs[-1].paper_ran_out
    sim.refill()
    entry = await queue.reprint()
    assert entry.printed
    assert entry.attempts == 2
    assert not sim.jobs[-1].paper_ran_out
    assert Image.open(io.BytesIO(sim.jobs[-1].png)).height > 900


async def test_a_connection_dropped_mid_job_is_an_error_and_the_job_is_kept(
    sim: SimulatedPrinter, profile80: PrinterProfile
) -> None:
    queue = PrintQueue(_client(sim), FrozenClock())
    sim.drop_after(20_000)
    with pytest.raises(PrintFailed) as caught:
        await queue.submit(receipt_job(profile80))
    assert caught.value.fault is PrinterFault.CONNECTION_LOST
    assert sim.jobs[-1].dropped
    assert queue.last(JobKind.RECEIPT) is not None
    await queue.reprint("job-1")
    assert sim.jobs[-1].cut
    assert not sim.jobs[-1].dropped


async def test_an_unreachable_printer_is_a_clear_error_and_the_job_waits(
    profile80: PrinterProfile,
) -> None:
    sim = SimulatedPrinter(width_dots=576)
    await sim.start()
    port = sim.port
    await sim.stop()  # nothing listens there any more
    queue = PrintQueue(EscposPrinter.network("127.0.0.1", port, timeout_s=5), FrozenClock())
    with pytest.raises(PrinterError) as caught:
        await queue.submit(receipt_job(profile80))
    assert "injoignable" in caught.value.message("fr")
    assert "unreachable" in caught.value.message("en")
    assert PASSWORD not in caught.value.detail
    assert queue.pending()[0].last_error is caught.value
    revived = SimulatedPrinter(width_dots=576, port=port)
    async with revived:
        await queue.reprint()
        assert (await revived.wait_for_jobs(1))[0].cut


async def test_a_printer_that_never_answers_status_still_prints(
    profile80: PrinterProfile,
) -> None:
    received = bytearray()
    done = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)
        writer.close()
        done.set()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        client = EscposPrinter.network("127.0.0.1", port)
        client.status_timeout_s = 0.3
        assert not (await client.status()).known
        job = receipt_job(profile80)
        await client.print(job)
        await asyncio.wait_for(done.wait(), 30)
    assert job.escpos in bytes(received)


async def test_the_device_file_backend_writes_exactly_the_job(
    tmp_path: Path, profile80: PrinterProfile
) -> None:
    device = tmp_path / "lp0"
    job = receipt_job(profile80)
    printer = EscposPrinter.device_file(device)
    assert not (await printer.status()).known
    await printer.print(job)
    assert device.read_bytes() == job.escpos


async def test_a_missing_device_file_is_unreachable(
    tmp_path: Path, profile80: PrinterProfile
) -> None:
    printer = EscposPrinter.device_file(tmp_path / "absent" / "lp0")
    with pytest.raises(PrintFailed) as caught:
        await printer.print(receipt_job(profile80))
    assert caught.value.fault is PrinterFault.UNREACHABLE


async def test_a_usb_printer_not_plugged_in_is_unreachable(profile80: PrinterProfile) -> None:
    printer = EscposPrinter.usb(0x04B8, 0x0E15)  # no such device on a test machine
    with pytest.raises(PrintFailed) as caught:
        await printer.print(receipt_job(profile80))
    assert caught.value.fault is PrinterFault.UNREACHABLE
    assert "reprint" in caught.value.message("en")


async def test_reprint_with_nothing_kept_is_not_found(sim: SimulatedPrinter) -> None:
    queue = PrintQueue(_client(sim), FrozenClock())
    with pytest.raises(NotFound):
        await queue.reprint()


async def test_wipe_forgets_every_job_and_trim_never_drops_an_unprinted_one(
    sim: SimulatedPrinter, profile80: PrinterProfile
) -> None:
    queue = PrintQueue(_client(sim), FrozenClock(), keep=2)
    sim.paper_out()
    with pytest.raises(PrinterError):
        await queue.submit(receipt_job(profile80, "unprinted"))
    sim.refill()
    for n in range(3):
        await queue.submit(receipt_job(profile80, f"printed-{n}"))
    ids = [e.job.job_id for e in queue.jobs()]
    assert ids == ["unprinted", "printed-2"]
    queue.wipe()
    assert queue.jobs() == []


def test_a_desk_with_a_network_printer_never_loads_the_usb_stack() -> None:
    """pyusb and libusb load with the first USB job, not with the printers module."""
    import subprocess
    import sys

    probe = (
        "import sys, asyncio, kiosk.printing.printers as p\n"
        "printer = p.EscposPrinter.network('127.0.0.1', 9, timeout_s=0.5)\n"
        "try:\n"
        "    asyncio.run(printer.status())\n"
        "except p.PrintFailed:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('usb', 'escpos', 'yaml')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], check=True, timeout=120, capture_output=True, text=True
    )
    assert shown.stdout.strip() == "[]"
