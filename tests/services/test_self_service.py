"""The self-service kiosk's patient on the simulated world: begun by the card, routed, wiped.

ARCHITECTURE.md §9: "inactivity timeout (default 60 s) and card removal wipe everything
on screen and in memory, and a route to the desk (ticket) when identity cannot be
qualified". The countdown runs on an injected clock: no sleeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardInserted, CardKind, CardRemoved
from kiosk.clock import FrozenClock
from kiosk.domain.consent import InformationChannel
from kiosk.domain.selfservice import Farewell, Presence, RouteReason
from kiosk.errors import IdentityError, InvalidInput
from kiosk.printing.ports import JobKind
from kiosk.services.self_service import SelfService
from kiosk.services.stages import Stage
from kiosk.sim.visits import seed_earlier_visits
from kiosk.wiring import Services, open_services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.desk import card_control, dmp_record, next_event, printed_pages, sim_settings, sim_world

__all__ = ["sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
KNOWN_NIR = "168023155504273"  # dmp-known.toml: a DMP Mon espace santé created


@pytest.fixture
async def kiosk(sim_world: Path) -> AsyncIterator[tuple[Services, FrozenClock]]:
    """The services of a self-service kiosk on the world, on a clock the test moves.

    It starts at the real time: the world's INSi and DMP check assertions against theirs.
    """
    clock = FrozenClock(datetime.now(UTC))
    async with open_services(sim_settings(sim_world), clock=clock) as opened:
        yield opened, clock


async def _begun(services: Services) -> tuple[SelfService, object]:
    events = services.card_monitor.events()
    card_control(services, {"op": "insert", "card": "adult"})
    await services.self_service.card_event(await next_event(events, CardInserted, CardKind.VITALE))
    return services.self_service, events


async def _audit(services: Services) -> str:
    await services.outbox.chain_owed()
    log = AuditLog(services.outbox.path)
    assert (await log.verify()).ok
    return "\n".join(await log.export_lines())


async def test_the_card_begins_a_visit_and_pulling_it_wipes_it_at_once(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    services, _ = kiosk
    kiosk_service, events = await _begun(services)
    admission = kiosk_service.admission
    assert admission is not None
    people = await admission.read_card()  # read on the establishment's kiosk, no agent
    assert [p.family_name for p in people] == ["MARTIN-TEST"]

    card_control(services, {"op": "pull", "card": "adult"})
    await kiosk_service.card_event(await next_event(events, CardRemoved))
    assert kiosk_service.admission is None
    assert admission.patient_name == ""  # the admission holds nothing of the patient
    lines = await _audit(services)
    assert '"selfservice.wiped"' in lines
    assert '"reason":"card_removed"' in lines.replace(" ", "")


async def test_no_answer_to_are_you_still_there_wipes_after_the_countdown(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    services, clock = kiosk
    kiosk_service, _ = await _begun(services)
    assert kiosk_service.timeout_s == services.settings.selfservice.inactivity_timeout_s == 60
    clock.advance(59)
    assert (await kiosk_service.check_presence()).state is Presence.ACTIVE
    clock.advance(2)
    asked = await kiosk_service.check_presence()
    assert asked.state is Presence.ASKING
    assert asked.seconds_left == pytest.approx(14)
    kiosk_service.touch()  # "I am still here"
    clock.advance(61)
    assert (await kiosk_service.check_presence()).state is Presence.ASKING
    clock.advance(15)
    assert (await kiosk_service.check_presence()).state is Presence.EXPIRED
    assert kiosk_service.admission is None
    assert '"reason":"timeout"' in (await _audit(services)).replace(" ", "")


async def test_an_identity_the_kiosk_may_not_qualify_goes_to_the_desk_with_a_ticket(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    services, _ = kiosk
    kiosk_service, _ = await _begun(services)
    admission = kiosk_service.admission
    assert admission is not None
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()
    with pytest.raises(IdentityError):  # no agent checked an identity document
        await admission.qualify()
    before = len(printed_pages(services))
    await kiosk_service.route_to_desk(RouteReason.NOT_QUALIFIED, "fr")
    assert kiosk_service.routed is RouteReason.NOT_QUALIFIED
    ticket = services.print_queue.last(JobKind.TICKET)
    assert ticket is not None
    assert ticket.printed
    assert len(printed_pages(services)) == before + 1
    assert not (await dmp_record(services, ADULT_NIR))["exists"]  # nothing sent to the DMP
    lines = await _audit(services)
    assert '"reason":"BL-01"' in lines.replace(" ", "")
    assert ADULT_NIR not in lines


def test_the_ticket_names_no_one() -> None:
    from kiosk.printing.receipt import TicketContent

    fields = {f.name for f in dataclasses.fields(TicketContent)}
    assert fields == {"establishment", "printed_at", "reason_code", "reason", "lang"}


async def _routed(services: Services, card: str, index: int) -> RouteReason | Stage:
    events = services.card_monitor.events()
    card_control(services, {"op": "insert", "card": card})
    await services.self_service.card_event(await next_event(events, CardInserted, CardKind.VITALE))
    admission = services.self_service.admission
    assert admission is not None
    people = await admission.read_card()
    return await services.self_service.identify(index, people[index], "en")


@pytest.mark.parametrize(
    ("card", "index", "reason"),
    [
        ("adult", 0, RouteReason.NOT_QUALIFIED),  # INSi agrees; no agent saw a document
        ("corsica", 0, RouteReason.NOT_QUALIFIED),  # never seen at the desk before
        ("family", 0, RouteReason.INSI_MISMATCH),  # the card's usage name, INSi's birth name
        ("family", 1, RouteReason.MINOR),  # LEA, born 2015: her representative, at the desk
    ],
)
async def test_what_the_kiosk_may_not_finish_alone_goes_to_the_desk(
    kiosk: tuple[Services, FrozenClock], card: str, index: int, reason: RouteReason
) -> None:
    services, _ = kiosk
    assert await _routed(services, card, index) is reason
    assert services.self_service.routed is reason
    assert services.print_queue.last(JobKind.TICKET) is not None
    lines = await _audit(services)
    assert f'"reason":"{reason.code}"' in lines.replace(" ", "")
    assert '"dmp.' not in lines  # nothing asked of, or sent to, the DMP


# -- a patient qualified at an earlier desk visit: the kiosk goes on alone ------------


def _answers(*yes: bool) -> dict[str, bool]:
    """The four answers in the kiosk's order: creation, this hospital, emergency, SAMU."""
    names = ("creation", "establishment_access", "emergency_access", "regulation_centre_access")
    return dict(zip(names, yes, strict=True))


async def _returning(services: Services, card: str) -> RouteReason | Stage:
    """The demo's earlier desk visits in the record store, then ``card`` at the kiosk."""
    await seed_earlier_visits(services.records, services.clock.now())
    return await _routed(services, card, 0)


async def test_a_patient_qualified_earlier_enrols_alone_from_card_to_printed_details(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    """Issue 18: "DMP created with the consent record; receipt printed; audit verifies"."""
    services, _ = kiosk
    kiosk_service = services.self_service
    assert await _returning(services, "adult") is Stage.NO_DMP
    admission = kiosk_service.admission
    assert admission is not None
    assert await kiosk_service.inform() is Stage.INFORMED
    stage = await kiosk_service.consent("en", **_answers(True, True, True, False))
    assert stage is Stage.CREATED
    before = len(printed_pages(services))
    await kiosk_service.conclude(mobile="+590 690 12 34 56")  # Guadeloupe

    assert kiosk_service.admission is None  # finished is wiped
    assert admission.patient_name == ""
    assert kiosk_service.farewell is Farewell.CREATED
    assert len(printed_pages(services)) == before + 1
    record = await dmp_record(services, ADULT_NIR)
    assert record["exists"]
    assert record["consent"]["regulation_centre_access"] is False
    lines = (await _audit(services)).replace(" ", "")
    for kind in ("information.given", "consent.given", "dmp.created", "receipt.printed"):
        assert f'"{kind}"' in lines
    assert '"channel":"kiosk"' in lines  # read on the kiosk's screens
    assert '"reason":"finished"' in lines
    assert ADULT_NIR not in lines

    card_control(services, {"op": "pull", "card": "adult"})
    await kiosk_service.card_event(await next_event(services.card_monitor.events(), CardRemoved))
    assert kiosk_service.farewell is None  # the card taken back: the attract screen again


async def test_a_mobile_number_the_service_refuses_keeps_the_visit_open_and_the_dmp(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    """Bad input loses nothing: the DMP stays created, the patient may type it again."""
    services, _ = kiosk
    kiosk_service = services.self_service
    assert await _returning(services, "adult") is Stage.NO_DMP
    await kiosk_service.inform()
    assert await kiosk_service.consent("fr", **_answers(True, True, True, True)) is Stage.CREATED
    before = len(printed_pages(services))
    with pytest.raises(InvalidInput) as refused:
        await kiosk_service.conclude(mobile="12")
    assert refused.value.message("fr")  # said on the mobile screen, in words
    assert kiosk_service.admission is not None  # the visit goes on
    assert len(printed_pages(services)) == before  # nothing printed
    assert (await dmp_record(services, ADULT_NIR))["exists"]
    await kiosk_service.conclude(mobile="06 12 34 56 78")
    assert len(printed_pages(services)) == before + 1
    assert kiosk_service.farewell is Farewell.CREATED


async def test_no_to_the_creation_creates_nothing_and_ends_the_visit(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    services, _ = kiosk
    kiosk_service = services.self_service
    assert await _returning(services, "adult") is Stage.NO_DMP
    await kiosk_service.inform()
    stage = await kiosk_service.consent("fr", **_answers(False, False, False, False))
    assert stage is Stage.CONSENT_REFUSED
    assert kiosk_service.admission is None
    assert kiosk_service.farewell is Farewell.NOT_CREATED
    assert not (await dmp_record(services, ADULT_NIR))["exists"]


async def test_the_information_read_on_the_kiosk_stays_for_the_desk(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    """Issue 18: "The information already given stays recorded so the desk does not repeat it"."""
    services, _ = kiosk
    assert await _returning(services, "adult") is Stage.NO_DMP
    admission = services.self_service.admission
    assert admission is not None
    patient = admission.patient
    assert patient is not None
    await services.self_service.inform()
    card_control(services, {"op": "pull", "card": "adult"})
    await services.self_service.card_event(
        await next_event(services.card_monitor.events(), CardRemoved)
    )
    given = await services.records.informed(patient)
    assert given is not None
    assert given.channel is InformationChannel.KIOSK
    assert not given.brochure


async def test_an_existing_dmp_is_opened_to_this_hospital_when_the_patient_says_yes(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    services, _ = kiosk
    assert await _returning(services, "dmp-known") is Stage.NEEDS_AUTHORIZATION
    assert await services.self_service.authorize(agreed=True) is Stage.AUTHORIZED
    assert services.self_service.farewell is Farewell.AUTHORIZED
    record = await dmp_record(services, KNOWN_NIR)
    assert list(record["authorizations"].values()) == ["VALIDE"]
    assert '"dmp.authorization_given"' in await _audit(services)


async def test_a_dmp_this_hospital_may_already_read_needs_nothing(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    services, _ = kiosk
    assert await _returning(services, "dmp-authorized") is Stage.AUTHORIZED
    assert services.self_service.admission is None
    assert services.self_service.farewell is Farewell.ALREADY


@pytest.mark.parametrize(
    ("card", "reason", "state"),
    [
        ("dmp-closed", RouteReason.DMP_CLOSED, "closed"),  # reopened only at the desk
        ("dmp-opposed", RouteReason.OPPOSED, "opposed"),  # seed 004: « sauf opposition »
    ],
)
async def test_a_dmp_the_kiosk_may_not_touch_sends_the_patient_to_the_desk(
    kiosk: tuple[Services, FrozenClock], card: str, reason: RouteReason, state: str
) -> None:
    services, _ = kiosk
    assert await _returning(services, card) is reason
    ticket = services.print_queue.last(JobKind.TICKET)
    assert ticket is not None
    assert ticket.printed
    lines = (await _audit(services)).replace(" ", "")
    assert f'"reason":"{reason.code}"' in lines
    assert '"consent.' not in lines
    assert '"dmp.authorization_' not in lines


async def test_insi_not_answering_sends_the_patient_to_the_desk_with_nothing_sent(
    kiosk: tuple[Services, FrozenClock],
) -> None:
    """Issue 18: "service down" routes to the desk; the ticket says so."""
    services, _ = kiosk
    insi_url = str(world_facts(services.settings)["insi_url"]).rstrip("/")
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{insi_url}/_sim/fault", json={"fault": "http500", "count": 5})
    answer.raise_for_status()
    assert await _returning(services, "adult") is RouteReason.SERVICE_DOWN
    ticket = services.print_queue.last(JobKind.TICKET)
    assert ticket is not None
    assert ticket.printed
    assert not (await dmp_record(services, ADULT_NIR))["exists"]
    assert f'"reason":"{RouteReason.SERVICE_DOWN.code}"' in (await _audit(services)).replace(
        " ", ""
    )
