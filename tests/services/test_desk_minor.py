"""A minor's admission through the desk's services, on the simulated world.

Seed 001: the consent is given by « la personne ayant l'autorité parentale »; seed 000
speaks of « les représentants légaux du patient ». LEA DURAND-TEST, born 12/06/2015 on
the family card, is a minor: her mother consents for her, and the web account is hers.
"""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.audit.store import AuditLog
from kiosk.domain.minors import LegalRepresentative, RepresentativeQuality, RepresentativeRequired
from kiosk.services.admission import Admission
from kiosk.services.stages import Stage
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import (
    desk_services,
    dmp_record,
    logged_in,
    qualified,
    sim_world,
)

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

LEA_INS = "215066912304169"  # kiosk/sim/data/insi_population.toml, the family card's twin
MOTHER = LegalRepresentative("DURAND-TEST", "SOPHIE", RepresentativeQuality.PARENT)


async def _informed(services: Services, events: Any, index: int) -> Admission:
    admission = await qualified(services, events, "family", index)
    assert await admission.dmp_status() is Stage.NO_DMP
    await admission.give_information(brochure=True)
    return admission


async def test_a_minors_consent_is_her_representatives_and_is_refused_without_one(
    desk_services: Services,
) -> None:
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)
    admission = await _informed(services, events, 1)  # LEA, rank 1
    assert admission.minor

    consent = {
        "creation": True,
        "establishment_access": True,
        "emergency_access": True,
        "regulation_centre_access": True,
    }
    with pytest.raises(RepresentativeRequired):
        await admission.consent(**consent)  # nothing queued, nothing created
    assert admission.stage is Stage.INFORMED
    assert not (await dmp_record(services, LEA_INS))["exists"]

    assert await admission.consent(**consent, representative=MOTHER) is Stage.CREATED
    assert (await dmp_record(services, LEA_INS))["exists"]
    assert admission.representative == MOTHER
    await admission.open_web_account(mobile="+33612345678")  # the mother's mobile

    await services.outbox.chain_owed()
    log = AuditLog(services.outbox.path)
    assert (await log.verify()).ok
    lines = await log.export_lines()
    given = next(line for line in lines if '"consent.given"' in line)
    assert '"representative":"parent"' in given.replace(" ", "")
    assert "SOPHIE DURAND-TEST" in given
    opened = next(line for line in lines if '"dmp.web_account_opened"' in line)
    assert '"to":"representative"' in opened.replace(" ", "")
    assert not any(LEA_INS in line for line in lines)


async def test_an_adult_consents_alone(desk_services: Services) -> None:
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)
    admission = await _informed(services, events, 0)  # SOPHIE, the card holder
    assert not admission.minor
    stage = await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    assert stage is Stage.CREATED
