"""Information apart from consent, through the desk's services on the simulated world.

Seed 001: "Ces trois étapes (information, consentement, création) peuvent être
déconnectées dans le temps": a patient informed at one visit (or on the self-service
kiosk) consents at the next, on the strength of the information the record keeps.
"""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardRemoved
from kiosk.domain.consent import InformationChannel
from kiosk.services.admission import Admission
from kiosk.services.enrolment import InvalidTransition
from kiosk.services.stages import Stage
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import (
    card_control,
    desk_services,
    dmp_record,
    logged_in,
    next_event,
    qualified,
    sim_world,
)

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID


async def _to_dmp_status(services: Services, events: Any) -> Admission:
    """The adult's card in, the identity qualified, the DMP status asked: none."""
    admission = await qualified(services, events)
    assert await admission.dmp_status() is Stage.NO_DMP
    return admission


async def _visit_ends(services: Services, events: Any, admission: Admission) -> None:
    admission.finish()
    services.desk.end_admission()
    card_control(services, {"op": "pull", "card": "adult"})
    await services.desk.card_event(await next_event(events, CardRemoved))


async def test_informed_at_one_visit_the_patient_consents_at_the_next(
    desk_services: Services,
) -> None:
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)

    first = await _to_dmp_status(services, events)
    assert first.earlier_information is None  # never informed: the screen asks
    with pytest.raises(InvalidTransition):
        await first.use_earlier_information()
    assert await first.give_information(brochure=True) is Stage.INFORMED
    await _visit_ends(services, events, first)  # the patient wants to think it over
    assert not (await dmp_record(services, ADULT_NIR))["exists"]

    later = await _to_dmp_status(services, events)
    told = later.earlier_information
    assert told is not None
    assert told.channel is InformationChannel.DESK
    assert told.brochure is True
    assert told.brochure_version == services.settings.site.brochure_version
    assert told.by == services.session.professional.national_id  # type: ignore[union-attr]
    assert await later.use_earlier_information() is Stage.INFORMED
    stage = await later.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    assert stage is Stage.CREATED
    assert (await dmp_record(services, ADULT_NIR))["exists"]

    await services.outbox.chain_owed()
    log = AuditLog(services.outbox.path)
    assert (await log.verify()).ok
    lines = [line for line in await log.export_lines() if '"information.given"' in line]
    assert len(lines) == 2  # given at the first visit, relied on at the second
    assert '"channel":"desk"' in lines[0].replace(" ", "")
    assert '"earlier":' in lines[1]
