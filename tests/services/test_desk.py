"""The desk service on the real simulated stack: cards → login → one admission → receipt, audited.

Everything goes through ``open_services`` on a running world: the private pcscd with
the virtual cards, the SoftHSM2 tokens, INSi and the DMP over a socket, the
simulated printer, the outbox and the audit chain on disk.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardInserted, CardKind, CardRemoved
from kiosk.domain.ins import IdentityNotQualified
from kiosk.errors import InvalidInput
from kiosk.services.session import SessionState
from kiosk.services.stages import Stage
from kiosk.wiring import Services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.desk import (
    AGENT_PIN,
    card_control,
    desk_services,
    logged_in,
    next_event,
    printed_pages,
    qr_texts,
    sim_world,
)

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID


async def test_an_agent_enrols_a_patient_from_card_to_receipt(desk_services: Services) -> None:
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)

    card_control(services, {"op": "insert", "card": "adult"})
    vitale = await next_event(events, CardInserted, CardKind.VITALE)
    await services.desk.card_event(vitale)
    admission = services.desk.begin_admission(vitale.reader)
    people = await admission.read_card()
    assert [p.family_name for p in people] == ["MARTIN-TEST"]
    admission.choose(0)
    check = await admission.search_identity()
    assert check.identity is not None
    assert check.card_differences == ()
    with pytest.raises(IdentityNotQualified):
        await admission.qualify()  # INSi alone gives "récupérée", not "qualifiée"
    admission.confirm_document()
    record = await admission.qualify()
    assert record.identity.status.value == "QUAL"
    assert await admission.dmp_status() is Stage.NO_DMP
    assert await admission.give_information(brochure=True) is Stage.INFORMED
    stage = await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    assert stage is Stage.CREATED
    assert await admission.open_web_account(mobile="+262692123456") is Stage.WEB_ACCOUNT_OPEN
    await admission.print_credentials()
    await admission.print_credentials()  # the patient asks again: a reprint
    assert admission.finish() is Stage.DONE
    services.desk.end_admission()
    await services.desk.reprint_last()  # the patient is back: the session kept the receipt

    receipts = printed_pages(services)
    assert len(receipts) == 3  # printed, reprinted at the patient's request, reprinted later
    assert qr_texts(receipts[0]) == [services.settings.site.patient_portal_url]

    dmp_url = str(world_facts(services.settings)["dmp_url"]).rstrip("/")
    async with httpx.AsyncClient() as http:
        state = (await http.get(f"{dmp_url}/_sim/dmp/{ADULT_NIR}")).json()
    assert state["exists"]
    assert state["consent"]["emergency_access"] is True
    assert state["web_account"]

    card_control(services, {"op": "pull", "card": "cpe-agent"})
    await services.desk.card_event(await next_event(events, CardRemoved))
    assert services.session.state is SessionState.ENDED
    assert services.desk.admission is None

    await services.outbox.chain_owed()
    report = await AuditLog(services.outbox.path).verify()
    assert report.ok, report
    lines = "\n".join(await AuditLog(services.outbox.path).export_lines())
    assert lines.count('"receipt.reprinted"') == 2
    for kind in (
        "session.login",
        "identity.verified",
        "information.given",
        "consent.given",
        "dmp.created",
        "dmp.web_account_opened",
        "receipt.printed",
        "receipt.reprinted",
        "session.logout",
    ):
        assert f'"{kind}"' in lines, kind
    assert ADULT_NIR not in lines
    assert AGENT_PIN not in lines.replace("seq", "")


async def test_pulling_the_vitale_card_wipes_the_admission(desk_services: Services) -> None:
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)
    card_control(services, {"op": "insert", "card": "adult"})
    vitale = await next_event(events, CardInserted, CardKind.VITALE)
    admission = services.desk.begin_admission(vitale.reader)
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()

    card_control(services, {"op": "pull", "card": "adult"})
    await services.desk.card_event(await next_event(events, CardRemoved))
    assert services.desk.admission is None
    assert "MARTIN" not in repr(vars(admission))
    assert services.session.state is SessionState.LOGGED_IN  # the agent stays
    assert services.desk.session_patients() == []  # nothing was recorded: nothing kept


async def test_an_update_can_see_a_patient_is_at_the_desk(desk_services: Services) -> None:
    """Issue 20: "An update never starts while an admission is in progress"."""
    from kiosk.services.activity import SERVING_LOCK, serving

    services = desk_services
    lock = services.settings.paths.data_dir / SERVING_LOCK
    events = services.card_monitor.events()
    await logged_in(services, events)
    assert not serving(lock)
    card_control(services, {"op": "insert", "card": "adult"})
    vitale = await next_event(events, CardInserted, CardKind.VITALE)

    services.desk.begin_admission(vitale.reader)
    assert serving(lock), "another process (the updater) sees the admission"

    card_control(services, {"op": "pull", "card": "adult"})
    await services.desk.card_event(await next_event(events, CardRemoved))
    assert not serving(lock)


async def _created(services: Services, events: Any) -> Any:
    """The adult's admission up to the DMP created, the card then pulled."""
    card_control(services, {"op": "insert", "card": "adult"})
    vitale = await next_event(events, CardInserted, CardKind.VITALE)
    admission = services.desk.begin_admission(vitale.reader)
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    await admission.dmp_status()
    await admission.give_information(brochure=True)
    await admission.consent(
        creation=True,
        establishment_access=True,
        emergency_access=True,
        regulation_centre_access=True,
    )
    card_control(services, {"op": "pull", "card": "adult"})
    await services.desk.card_event(await next_event(events, CardRemoved))
    return admission


async def test_a_patient_of_the_session_is_reopened_for_the_web_account_asked_later(
    desk_services: Services,
) -> None:
    # Issue 16: "A patient's record of this session can be reopened to reprint or to
    # finish a deferred step."
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)
    first = await _created(services, events)
    assert services.desk.admission is None  # the card left: no patient at the desk
    listed = services.desk.session_patients()
    assert [(p.name, p.stage, p.printed) for p in listed] == [
        ("PAUL MARTIN-TEST", Stage.CREATED, False)
    ]

    again = await services.desk.reopen(listed[0].index)  # the patient is back, card in pocket
    assert again is first
    assert services.desk.admission is again
    assert services.desk.session_patients() == []  # at the desk now, not in the list
    assert await again.open_web_account(mobile="+262692123456") is Stage.WEB_ACCOUNT_OPEN
    await again.print_credentials()
    assert len(printed_pages(services)) == 1
    services.desk.end_admission()  # next patient: back in the list, printed
    assert [(p.stage, p.printed) for p in services.desk.session_patients()] == [
        (Stage.WEB_ACCOUNT_OPEN, True)
    ]

    lines = "\n".join(await AuditLog(services.outbox.path).export_lines())
    assert "admission.reopened" in lines
    assert "MARTIN" not in lines  # the audit names the stage, never the patient

    await services.desk.logout()  # the session ends: what it kept goes
    assert services.desk.session_patients() == []
    assert again.patient_name == ""
    assert "MARTIN" not in repr(vars(again))
    with pytest.raises(InvalidInput) as refused:
        await services.desk.reopen(0)
    assert "Connectez-vous" in refused.value.message("fr")
