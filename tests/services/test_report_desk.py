"""The indicators of admissions made through the real desk service on the simulated world.

An agent logs in with the CPE, creates the DMP of one patient and meets the refusal
of another; the report read from the audit chain those calls wrote says so, for
that agent, on the site's local day.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.audit.report import compute, local_day
from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardEvent, CardInserted, CardKind, CardRemoved
from kiosk.clock import SystemClock
from kiosk.services.stages import Stage
from kiosk.sim.cards.desk import control_request
from kiosk.wiring import Services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.desk import desk_services, sim_world

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

AGENT_PIN = "1234"  # kiosk/sim/data/professionals.toml, the fixture agent's test PIN


def _control(services: Services, request: dict[str, Any]) -> None:
    path = world_facts(services.settings).get("cards_control")
    assert control_request(Path(str(path)), request).get("ok")


async def _next(events: Any, want: type[CardEvent], kind: CardKind | None = None) -> CardEvent:
    async def find() -> CardEvent:
        async for event in events:
            if isinstance(event, want) and (kind is None or event.kind is kind):  # type: ignore[attr-defined]
                return event
        raise AssertionError("monitor stopped")

    return await asyncio.wait_for(find(), timeout=20)


async def _admit(services: Services, events: Any, card: str, *, creation: bool) -> Stage:
    _control(services, {"op": "insert", "card": card})
    vitale = await _next(events, CardInserted, CardKind.VITALE)
    await services.desk.card_event(vitale)
    admission = services.desk.begin_admission(vitale.reader)
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    assert await admission.dmp_status() is Stage.NO_DMP
    await admission.give_information(brochure=True)
    stage = await admission.consent(
        creation=creation,
        establishment_access=creation,
        emergency_access=True,
        regulation_centre_access=True,
    )
    admission.finish()
    _control(services, {"op": "pull", "card": card})
    await services.desk.card_event(await _next(events, CardRemoved))
    return stage


async def test_the_report_counts_what_the_desk_did(desk_services: Services) -> None:
    services = desk_services
    events = services.card_monitor.events()
    _control(services, {"op": "insert", "card": "cpe-agent"})
    await services.desk.card_event(await _next(events, CardInserted, CardKind.CPS))
    agent = (await services.desk.login(AGENT_PIN)).national_id

    assert await _admit(services, events, "adult", creation=True) is Stage.CREATED
    assert await _admit(services, events, "corsica", creation=False) is Stage.CONSENT_REFUSED
    await services.outbox.chain_owed()

    zone = ZoneInfo(services.settings.outbox.timezone)
    today = local_day(SystemClock().now(), zone)
    indicators = await compute(AuditLog(services.outbox.path))
    # Yesterday too: a run that straddles the site's midnight still finds its lines.
    result = indicators.report(today - timedelta(days=1), today, zone, daily_document_volume=1)
    assert result.agents() == [agent]
    counts = result.agent(agent).counts
    assert counts["dmp_created"] == 1
    assert counts["consents_refused"] == 1
    assert counts["creations_deferred"] == 0
    assert counts["dead_letters"] == 0
    assert sum(result.day(day).counts["dmp_created"] for day in result.days()) == 1
    assert result.warnings() == []
