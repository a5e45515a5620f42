"""The credentials receipt of an admission, through the print queue to the simulated printer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.transactions import AuthorizationStatus
from kiosk.domain.ins import IdentityStatus
from kiosk.errors import PrinterError
from kiosk.printing.ports import JobKind
from kiosk.printing.printers import EscposPrinter
from kiosk.printing.profiles import load_profile
from kiosk.printing.queue import PrintQueue
from kiosk.services.credentials import ReceiptPrinter
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.stages import Stage
from kiosk.sim.printer.device import SimulatedPrinter
from tests.dmp.samples import T0, VITALE_TRAITS
from tests.services.memory_ports import MemoryDmpRecords

from .memory_ports import Ports, identity


@pytest.fixture
async def printer() -> AsyncIterator[SimulatedPrinter]:
    async with SimulatedPrinter(width_dots=576) as sim:
        yield sim


async def _admitted(sim: SimulatedPrinter) -> tuple[EnrolmentFlow, PrintQueue]:
    clock = FrozenClock(T0)
    queue = PrintQueue(EscposPrinter.network(sim.host, sim.port), clock)
    receipts = ReceiptPrinter(
        queue,
        load_profile("generic-80mm"),
        clock,
        establishment="Centre hospitalier de démonstration",
        portal_url="https://www.monespacesante.fr",
        first_name="Alice",
        family_name="Testeur",
    )
    ports = Ports(exists=True, authorization=AuthorizationStatus.VALID)
    admission = EnrolmentFlow(
        dmp=ports,
        outbox=ports,
        records=MemoryDmpRecords(),
        printer=receipts,
        clock=clock,
        structure_id="3750100000",
        recorded_by="3750100000/0000042",
    )
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    assert await admission.open_web_account(mobile="0612345678") is Stage.WEB_ACCOUNT_OPEN
    return admission, queue


async def test_receipt_prints_on_request_and_again_on_reprint(printer: SimulatedPrinter) -> None:
    admission, queue = await _admitted(printer)
    assert printer.jobs == []  # nothing printed until asked
    await admission.print_credentials()
    await admission.print_credentials()
    await printer.wait_for_jobs(2)
    assert [job.kind for job in (e.job for e in queue.jobs())] == [JobKind.RECEIPT] * 2
    assert printer.jobs[0].png == printer.jobs[1].png
    queue.wipe()
    admission.wipe()
    assert queue.jobs() == []


async def test_paper_out_keeps_the_receipt_for_a_reprint(printer: SimulatedPrinter) -> None:
    admission, queue = await _admitted(printer)
    printer.paper_out()
    with pytest.raises(PrinterError):
        await admission.print_credentials()
    assert len(queue.pending()) == 1
    printer.refill()
    await queue.reprint()
    assert queue.pending() == []
