"""The enrolment state machine: every transition, and no unqualified identity reaching TD1.1."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.clock import FrozenClock
from kiosk.dmp.transactions import (
    AuthorizationStatus,
)
from kiosk.domain.ins import IdentityStatus
from kiosk.errors import InvalidInput, KioskError
from kiosk.outbox.ports import Delivery
from kiosk.records.record import KnownDmp
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.stages import TERMINAL, TRANSITIONS, Event, InvalidTransition, Stage, advance
from tests.dmp.samples import PATIENT, T0, VITALE_TRAITS

from .memory_ports import MemoryDmpRecords, Ports, identity

# -- the pure table ---------------------------------------------------------------


# The expected machine, written out by hand from DOMAIN.md §1, §5, §6: a change to
# TRANSITIONS that this list does not share is a failure, not a new truth.
EXPECTED: dict[tuple[str, str], str] = {
    ("start", "identity_qualified"): "qualified",
    ("start", "identity_not_qualified"): "unqualified",
    ("qualified", "known_locally"): "authorized",
    ("qualified", "dmp_authorized"): "authorized",
    ("qualified", "dmp_unauthorized"): "needs_authorization",
    ("qualified", "dmp_forbidden"): "forbidden",
    ("qualified", "dmp_absent"): "no_dmp",
    ("no_dmp", "information_given"): "informed",
    ("no_dmp", "finish"): "done",
    ("informed", "consent_given"): "creation_queued",
    ("informed", "consent_refused"): "consent_refused",
    ("informed", "finish"): "done",
    ("creation_queued", "creation_done"): "created",
    ("creation_queued", "creation_pending"): "deferred",
    ("creation_queued", "creation_failed"): "creation_failed",
    ("needs_authorization", "authorization_given"): "authorized",
    ("needs_authorization", "authorization_refused"): "done",
    ("created", "web_account_opened"): "web_account_open",
    ("created", "finish"): "done",
    ("authorized", "web_account_opened"): "web_account_open",
    ("authorized", "finish"): "done",
    ("web_account_open", "finish"): "done",
    ("deferred", "finish"): "done",
    ("creation_failed", "finish"): "done",
    ("consent_refused", "finish"): "done",
    ("forbidden", "finish"): "done",
    # DOMAIN.md: "A patient may have opposed (nothing is created), or have a closed DMP
    # (reactivation only at the patient's request)"; seed 001: the patient « décide de
    # sa création et de sa fermeture » (closure asked at the desk, from an open DMP).
    ("qualified", "dmp_closed"): "closed",
    ("qualified", "dmp_opposed"): "opposed",
    ("closed", "reactivated"): "needs_authorization",
    ("closed", "reactivated_authorized"): "authorized",
    ("authorized", "closed_on_request"): "closed",
    ("closed", "finish"): "done",
    ("opposed", "finish"): "done",
}


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("event", list(Event))
def test_every_pair_is_either_a_transition_or_refused(stage: Stage, event: Event) -> None:
    expected = EXPECTED.get((stage.value, event.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as caught:
            advance(stage, event)
        assert caught.value.message("fr")
    else:
        assert advance(stage, event) is Stage(expected)


def _reachable(start: Stage) -> set[Stage]:
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is here and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_stage_is_reachable_and_every_stage_can_end() -> None:
    assert _reachable(Stage.START) == set(Stage)
    for stage in Stage:
        assert _reachable(stage) & TERMINAL, stage


def test_terminal_stages_have_no_way_out() -> None:
    assert not [pair for pair in TRANSITIONS if pair[0] in TERMINAL]


def test_creation_only_after_information_and_consent_of_a_qualified_identity() -> None:
    into_creation = [
        pair for pair, target in TRANSITIONS.items() if target is Stage.CREATION_QUEUED
    ]
    assert into_creation == [(Stage.INFORMED, Event.CONSENT_GIVEN)]
    assert [p for p, t in TRANSITIONS.items() if t is Stage.INFORMED] == [
        (Stage.NO_DMP, Event.INFORMATION_GIVEN)
    ]


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_any_event_sequence_reaches_creation_only_through_qualification(
    events: list[Event],
) -> None:
    stage, seen = Stage.START, []
    for event in events:
        try:
            stage = advance(stage, event)
        except InvalidTransition:
            continue
        seen.append(event)
        if stage is Stage.CREATION_QUEUED:
            assert seen.index(Event.IDENTITY_QUALIFIED) < seen.index(Event.INFORMATION_GIVEN)
            assert Event.IDENTITY_NOT_QUALIFIED not in seen


# -- the driver, with in-memory ports -------------------------------------------------


def flow(ports: Ports, records: MemoryDmpRecords | None = None) -> EnrolmentFlow:
    return EnrolmentFlow(
        dmp=ports,
        outbox=ports,
        records=records or MemoryDmpRecords(),
        printer=ports,
        clock=FrozenClock(T0),
        structure_id="3750100000",
        recorded_by="3750100000/0000042",
    )


async def test_new_patient_is_informed_consents_and_gets_a_dmp() -> None:
    ports = Ports()
    admission = flow(ports)
    assert await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS) is Stage.NO_DMP
    assert await admission.give_information(brochure=True) is Stage.INFORMED
    assert await admission.consent(creation=True, establishment_access=True) is Stage.CREATED
    assert ports.queued == ["dmp.create"]
    assert await admission.open_web_account(mobile="0612345678") is Stage.WEB_ACCOUNT_OPEN
    assert not ports.printed  # printed only on request
    await admission.print_credentials()
    await admission.print_credentials()  # reprint
    assert len(ports.printed) == 2
    assert admission.finish() is Stage.DONE


@pytest.mark.parametrize("status", [IdentityStatus.PROV, IdentityStatus.RECUP, IdentityStatus.VALI])
async def test_unqualified_identity_goes_to_the_desk_without_any_dmp_call(
    status: IdentityStatus,
) -> None:
    ports = Ports()
    admission = flow(ports)
    assert await admission.start(identity(status), VITALE_TRAITS) is Stage.UNQUALIFIED
    with pytest.raises(InvalidTransition):
        await admission.give_information(brochure=True)
    assert ports.calls == []
    assert ports.queued == []


async def test_known_dmp_and_authorization_skip_the_existence_test() -> None:
    ports = Ports()
    records = MemoryDmpRecords({PATIENT: KnownDmp(exists=True, authorized=True)})
    admission = flow(ports, records)
    assert await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS) is Stage.AUTHORIZED
    assert ports.calls == []


async def test_existing_dmp_without_authorization_asks_the_patient() -> None:
    ports = Ports(exists=True)
    admission = flow(ports)
    assert await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS) is (
        Stage.NEEDS_AUTHORIZATION
    )
    assert await admission.authorize(agreed=True) is Stage.AUTHORIZED
    assert ports.queued == ["dmp.authorize"]


async def test_pending_authorization_is_not_remembered_so_td02_asks_again() -> None:
    # The TD0.3 is still in the outbox when the patient leaves, then ends in dead
    # letters: the next visit must not trust a local "authorized" that the DMP never saw.
    records = MemoryDmpRecords()
    ports = Ports(exists=True, delivery=deque([Delivery.PENDING]))
    admission = flow(ports, records)
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    assert await admission.authorize(agreed=True) is Stage.AUTHORIZED
    assert ports.queued == ["dmp.authorize"]
    assert records.facts[PATIENT] == KnownDmp(exists=True, authorized=False)
    # later: the worker gives the item up (dead letter); the DMP still says "none"
    again = Ports(exists=True)
    later = flow(again, records)
    assert await later.start(identity(IdentityStatus.QUAL), VITALE_TRAITS) is (
        Stage.NEEDS_AUTHORIZATION
    )
    assert again.calls == ["TD0.2"]


async def test_acknowledged_authorization_spares_the_next_td02() -> None:
    records = MemoryDmpRecords()
    admission = flow(Ports(exists=True), records)
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    await admission.authorize(agreed=True)
    again = Ports(exists=True)
    assert await flow(again, records).start(identity(IdentityStatus.QUAL), VITALE_TRAITS) is (
        Stage.AUTHORIZED
    )
    assert again.calls == []


async def test_forbidden_access_ends_without_writes() -> None:
    ports = Ports(exists=True, authorization=AuthorizationStatus.FORBIDDEN)
    admission = flow(ports)
    assert await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS) is Stage.FORBIDDEN
    with pytest.raises(InvalidTransition):
        await admission.authorize(agreed=True)
    assert ports.queued == []


async def test_offline_creation_is_deferred_and_failed_one_says_why() -> None:
    ports = Ports(delivery=deque([Delivery.PENDING]))
    admission = flow(ports)
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    await admission.give_information(brochure=False)
    assert await admission.consent(creation=True, establishment_access=True) is Stage.DEFERRED
    failing = Ports(delivery=deque([Delivery.DEAD]))
    other = flow(failing)
    await other.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    await other.give_information(brochure=True)
    assert await other.consent(creation=True, establishment_access=True) is (Stage.CREATION_FAILED)
    assert other.last_error == "DMP_EXISTANT"


async def test_refused_consent_writes_nothing() -> None:
    ports = Ports()
    admission = flow(ports)
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    await admission.give_information(brochure=True)
    assert await admission.consent(creation=False, establishment_access=False) is (
        Stage.CONSENT_REFUSED
    )
    assert ports.queued == []


async def test_consent_before_information_is_refused() -> None:
    ports = Ports()
    admission = flow(ports)
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    with pytest.raises(InvalidInput):
        await admission.consent(creation=True, establishment_access=True)
    assert ports.queued == []


async def test_credentials_leave_memory_on_wipe() -> None:
    ports = Ports(exists=True, authorization=AuthorizationStatus.VALID)
    admission = flow(ports)
    await admission.start(identity(IdentityStatus.QUAL), VITALE_TRAITS)
    await admission.open_web_account(email="alice@exemple.fr")
    admission.wipe()
    with pytest.raises(InvalidTransition):
        await admission.print_credentials()


_ACTIONS = st.sampled_from(
    ["info", "consent", "refuse", "authorize", "web", "print", "finish", "start"]
)


async def _drive(admission: EnrolmentFlow, status: IdentityStatus, actions: list[str]) -> None:
    for action in actions:
        try:
            if action == "start":
                await admission.start(identity(status), VITALE_TRAITS)
            elif action == "info":
                await admission.give_information(brochure=True)
            elif action == "consent":
                await admission.consent(creation=True, establishment_access=True)
            elif action == "refuse":
                await admission.consent(creation=False, establishment_access=False)
            elif action == "authorize":
                await admission.authorize(agreed=True)
            elif action == "web":
                await admission.open_web_account(mobile="0612345678")
            elif action == "print":
                await admission.print_credentials()
            else:
                admission.finish()
        except KioskError:
            continue


@settings(max_examples=200, deadline=None)
@given(
    status=st.sampled_from(list(IdentityStatus)),
    exists=st.booleans(),
    authorization=st.sampled_from(list(AuthorizationStatus)),
    actions=st.lists(_ACTIONS, max_size=12),
)
def test_random_use_never_sends_an_unqualified_identity_to_the_dmp(
    status: IdentityStatus,
    exists: bool,
    authorization: AuthorizationStatus,
    actions: list[str],
) -> None:
    ports = Ports(exists=exists, authorization=authorization)
    admission = flow(ports)
    asyncio.run(_drive(admission, status, ["start", *actions]))
    if status is not IdentityStatus.QUAL:
        assert ports.calls == []
        assert ports.queued == []
    if "dmp.create" in ports.queued:
        assert status is IdentityStatus.QUAL
        events = [event for _, event, _ in admission.history]
        assert events.index(Event.INFORMATION_GIVEN) < events.index(Event.CONSENT_GIVEN)
    for before, event, after in admission.history:
        assert TRANSITIONS[(before, event)] is after
