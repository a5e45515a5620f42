"""Mon espace santé's paths at the desk, on the simulated world over a socket (seed 004).

Seed 004: « Avec Mon Espace Santé, le DMP est automatiquement créé pour les usagers non
détenteurs sauf en cas d'opposition ». Seed 001: the patient « décide de sa création et
de sa fermeture ». The fixture patients' DMP states come from
``kiosk/sim/data/dmp_population.toml``; the DMP simulator, not the client, holds them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardInserted, CardKind, CardRemoved
from kiosk.errors import InvalidInput
from kiosk.services.admission import Admission
from kiosk.services.identity import PatientAbsent
from kiosk.services.stages import Stage
from kiosk.wiring import Services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.desk import card_control, desk_services, logged_in, next_event, sim_world

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

CLOSED_NIR = "291074410907739"  # cards/dmp-closed.toml
OPPOSED_NIR = "159116748213537"  # cards/dmp-opposed.toml
KNOWN_NIR = "168023155504273"  # cards/dmp-known.toml


async def _admitted(services: Services, events: Any, card: str) -> tuple[Admission, Stage]:
    await logged_in(services, events)
    card_control(services, {"op": "insert", "card": card})
    vitale = await next_event(events, CardInserted, CardKind.VITALE)
    await services.desk.card_event(vitale)
    admission = services.desk.begin_admission(vitale.reader)
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    return admission, await admission.dmp_status()


async def _dmp_state(services: Services, matricule: str) -> dict[str, Any]:
    dmp_url = str(world_facts(services.settings)["dmp_url"]).rstrip("/")
    async with httpx.AsyncClient() as http:
        state: dict[str, Any] = (await http.get(f"{dmp_url}/_sim/dmp/{matricule}")).json()
    return state


async def _audit_lines(services: Services) -> str:
    await services.outbox.chain_owed()
    assert (await AuditLog(services.outbox.path).verify()).ok
    return "\n".join(await AuditLog(services.outbox.path).export_lines())


async def test_each_td02_outcome_is_its_own_stage(desk_services: Services) -> None:
    services = desk_services
    events = services.card_monitor.events()
    stages = {}
    for card in ("dmp-authorized", "dmp-known", "dmp-closed", "dmp-opposed", "adult"):
        _admission, stages[card] = await _admitted(services, events, card)
        card_control(services, {"op": "pull", "card": card})
        await services.desk.card_event(await next_event(events, CardRemoved))
        card_control(services, {"op": "pull", "card": "cpe-agent"})
        await services.desk.card_event(await next_event(events, CardRemoved))
    assert stages == {
        "dmp-authorized": Stage.AUTHORIZED,
        "dmp-known": Stage.NEEDS_AUTHORIZATION,
        "dmp-closed": Stage.CLOSED,
        "dmp-opposed": Stage.OPPOSED,
        "adult": Stage.NO_DMP,
    }


async def test_the_opposed_patient_gets_nothing_created(desk_services: Services) -> None:
    services = desk_services
    admission, stage = await _admitted(services, services.card_monitor.events(), "dmp-opposed")
    assert stage is Stage.OPPOSED
    with pytest.raises(InvalidInput):  # no information, no consent, no creation to offer
        await admission.give_information(brochure=True)
    state = await _dmp_state(services, OPPOSED_NIR)
    assert state["opposed"]
    assert not state["exists"]


async def test_a_closed_dmp_reopens_at_the_patients_request_then_our_access(
    desk_services: Services,
) -> None:
    services = desk_services
    admission, stage = await _admitted(services, services.card_monitor.events(), "dmp-closed")
    assert stage is Stage.CLOSED
    assert await admission.reactivate() is Stage.NEEDS_AUTHORIZATION
    assert (await _dmp_state(services, CLOSED_NIR))["status"] == "ACTIF"
    assert await admission.authorize(agreed=True) is Stage.AUTHORIZED
    state = await _dmp_state(services, CLOSED_NIR)
    assert list(state["authorizations"].values()) == ["VALIDE"]
    assert '"dmp.reactivated"' in await _audit_lines(services)


async def test_reactivation_without_the_card_in_the_reader_changes_nothing(
    desk_services: Services,
) -> None:
    services = desk_services
    events = services.card_monitor.events()
    admission, stage = await _admitted(services, events, "dmp-closed")
    assert stage is Stage.CLOSED
    card_control(services, {"op": "pull", "card": "dmp-closed"})
    await next_event(events, CardRemoved)  # the desk has not heard yet: the admission is still open
    with pytest.raises(PatientAbsent):
        await admission.reactivate()
    assert admission.stage is Stage.CLOSED
    assert (await _dmp_state(services, CLOSED_NIR))["status"] == "FERME"
    assert '"dmp.refused_patient_absent"' in await _audit_lines(services)


async def test_the_patient_closes_their_dmp_in_person_with_a_reason(
    desk_services: Services,
) -> None:
    services = desk_services
    events = services.card_monitor.events()
    admission, stage = await _admitted(services, events, "dmp-known")
    assert stage is Stage.NEEDS_AUTHORIZATION
    assert await admission.authorize(agreed=True) is Stage.AUTHORIZED
    with pytest.raises(InvalidInput):
        await admission.close("   ")  # a closure says why
    assert (await _dmp_state(services, KNOWN_NIR))["status"] == "ACTIF"
    assert await admission.close("Ne souhaite plus de DMP") is Stage.CLOSED
    state = await _dmp_state(services, KNOWN_NIR)
    assert state["status"] == "FERME"
    assert state["closure_reason"] == "Ne souhaite plus de DMP"
    lines = await _audit_lines(services)
    assert '"dmp.closed"' in lines
    assert "Ne souhaite plus de DMP" in lines
    assert KNOWN_NIR not in lines


async def test_closure_without_the_card_in_the_reader_changes_nothing(
    desk_services: Services,
) -> None:
    services = desk_services
    events = services.card_monitor.events()
    admission, stage = await _admitted(services, events, "dmp-authorized")
    assert stage is Stage.AUTHORIZED
    card_control(services, {"op": "pull", "card": "dmp-authorized"})
    await next_event(events, CardRemoved)
    with pytest.raises(PatientAbsent) as refused:
        await admission.close("Ne souhaite plus de DMP")
    assert "carte Vitale" in refused.value.message("fr")
    assert admission.stage is Stage.AUTHORIZED
    assert (await _dmp_state(services, "272043306312133"))["status"] == "ACTIF"
