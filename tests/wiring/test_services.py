"""``open_services``: the bundle a desk runs on, built from the simulated world's settings."""

from __future__ import annotations

import asyncio
import time

from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.identity import IdentityFlow
from kiosk.services.session import SessionState
from kiosk.services.stages import Stage
from kiosk.sim.pki import ESTABLISHMENT, TestPki
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import desk_services, sim_world

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki


async def test_the_bundle_holds_every_service_of_the_desk(
    desk_services: Services, test_pki: TestPki
) -> None:
    assert desk_services.session.state is SessionState.NO_CARD
    assert desk_services.dmp._signer.certificate == test_pki.certificate(ESTABLISHMENT, "sign")
    assert "simulated" not in desk_services.printer.name  # the world's printer, not a private one
    assert desk_services.scanner is not None
    flow = desk_services.identity_flow(lambda: desk_services.vitale.read("no reader"))
    assert isinstance(flow, IdentityFlow)
    signer = test_pki.signer_for(ESTABLISHMENT)
    admission = desk_services.enrolment_flow(signer, "3750100000/0000042", "Marie", "Essai")
    assert isinstance(admission, EnrolmentFlow)
    assert admission.stage is Stage.START


async def test_the_footer_probes_see_the_world(desk_services: Services) -> None:
    # A world just started may still be listing its readers, and a loaded machine may let one
    # HEAD time out: the footer polls, so the test asks again for a bounded while, as it would.
    deadline = time.monotonic() + 15
    while True:
        results = {probe.name: await probe.check() for probe in desk_services.probes}
        if all(r.up for r in results.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert list(results) == ["insi", "dmp", "outbox", "readers", "printer"]
    assert results["insi"].up, results
    assert results["dmp"].up, results
    assert results["outbox"].up
    assert results["outbox"].detail == "0"
    assert results["readers"].up, results
    assert results["printer"].up, results
