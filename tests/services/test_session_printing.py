"""A receipt that failed to print is reprinted from the agent's session, and only there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kiosk.cards.pkcs11 import CpsModule
from kiosk.clock import FrozenClock
from kiosk.errors import PrinterError
from kiosk.printing.printers import EscposPrinter
from kiosk.printing.profiles import load_profile
from kiosk.printing.queue import PrintQueue
from kiosk.services.session import AgentSession, NotAllowedNow
from kiosk.sim.pki import professional
from kiosk.sim.printer.device import SimulatedPrinter
from tests import softhsm as tokens
from tests.printing.conftest import receipt_job

test_pki = tokens.test_pki
softhsm = tokens.softhsm
pin_lock = tokens.pin_lock
cps_module = tokens.cps_module

AGENT = professional("agent")
READER = "Virtual PCD 00 00"


@pytest.fixture
async def printer() -> AsyncIterator[SimulatedPrinter]:
    async with SimulatedPrinter(width_dots=576) as sim:
        yield sim


@pytest.fixture
async def session(cps_module: CpsModule, printer: SimulatedPrinter) -> AsyncIterator[AgentSession]:
    clock = FrozenClock()
    queue = PrintQueue(EscposPrinter.network("127.0.0.1", printer.port, timeout_s=10), clock)
    agent = AgentSession(cps_module, clock, print_queue=queue)
    await agent.card_inserted(READER, AGENT.card_serial)
    await agent.login(AGENT.pin)
    yield agent
    await agent.logout()


async def test_a_receipt_lost_to_paper_out_is_reprinted_in_the_session(
    session: AgentSession, printer: SimulatedPrinter
) -> None:
    assert session.print_queue is not None
    job = receipt_job(load_profile("generic-80mm"))
    printer.paper_out()
    with pytest.raises(PrinterError):
        await session.print_queue.submit(job)
    printer.refill()
    reprinted = await session.reprint_last()
    assert reprinted.printed
    [paper] = await printer.wait_for_jobs(1)
    assert paper.cut


async def test_reprint_needs_the_agent_logged_in_and_ends_with_the_session(
    session: AgentSession, printer: SimulatedPrinter
) -> None:
    assert session.print_queue is not None
    await session.print_queue.submit(receipt_job(load_profile("generic-80mm")))
    await session.card_removed(READER)  # the agent pulls the card: the session ends
    assert session.print_queue.jobs() == []  # the credentials left memory
    with pytest.raises(NotAllowedNow):
        await session.reprint_last()
