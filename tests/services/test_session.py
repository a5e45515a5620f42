"""The agent session state machine, over real SoftHSM2 tokens and a frozen clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from kiosk.cards.pinlock import SimulatedPinLock
from kiosk.cards.pkcs11 import CpsModule
from kiosk.clock import FrozenClock
from kiosk.errors import CardRemoved, KioskError, PinIncorrect, PinLocked
from kiosk.services.session import (
    AgentSession,
    CardBlocked,
    CardPresented,
    CardWithdrawn,
    EndReason,
    LoggedIn,
    NotAllowedNow,
    PinRefused,
    SessionEnded,
    SessionEvent,
    SessionLocked,
    SessionMode,
    SessionState,
)
from kiosk.signing import verify_signature
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import TestPki, load_establishment, professional
from tests import softhsm as tokens

test_pki = tokens.test_pki
softhsm = tokens.softhsm
pin_lock = tokens.pin_lock
cps_module = tokens.cps_module

AGENT = professional("agent")
DOCTOR = professional("doctor")
ORG = load_establishment()
READER = "Virtual PCD 00 00"
OTHER = "Virtual PCD 00 01"
WRONG = "0000"
TIMEOUT = 120.0


@dataclass
class Desk:
    """A session with its clock and the events it emitted."""

    session: AgentSession
    clock: FrozenClock
    events: list[SessionEvent] = field(default_factory=list)

    async def idle(self, seconds: float = TIMEOUT) -> None:
        self.clock.advance(seconds)
        await self.session.check_inactivity()


@pytest.fixture
async def desk(cps_module: CpsModule) -> AsyncIterator[Desk]:
    clock = FrozenClock()
    session = AgentSession(
        cps_module, clock, inactivity_timeout_s=TIMEOUT, establishment_label=ORG.token_label
    )
    result = Desk(session, clock)
    session.subscribe(result.events.append)
    yield result
    await session.logout()


async def _wrong(desk: Desk) -> None:
    with pytest.raises((PinIncorrect, PinLocked)):
        await desk.session.login(WRONG)


async def drive(desk: Desk, start: str) -> None:
    s = desk.session
    if start == "no_card":
        return
    if start == "indirect":
        await s.login_indirect(ORG.pin)
        return
    await s.card_inserted(READER, AGENT.card_serial)
    if start == "card_present":
        return
    if start == "card_blocked":
        for _ in range(3):
            await _wrong(desk)
        return
    await s.login(AGENT.pin)
    if start == "locked":
        await desk.idle()
    elif start == "ended_with_card":
        await s.logout()
    elif start == "ended_no_card":
        await s.card_removed(READER)


async def act(desk: Desk, action: str) -> None:
    s = desk.session
    match action:
        case "insert_other":
            await s.card_inserted(OTHER, DOCTOR.card_serial)
        case "remove":
            await s.card_removed(READER)
        case "remove_other":
            await s.card_removed(OTHER)
        case "pin_ok":
            await s.login(AGENT.pin)
        case "pin_bad":
            await s.login(WRONG)
        case "indirect":
            await s.login_indirect(ORG.pin)
        case "idle":
            await desk.idle()
        case "logout":
            await s.logout()


STATES = {
    "N": SessionState.NO_CARD,
    "P": SessionState.CARD_PRESENT,
    "L": SessionState.LOGGED_IN,
    "K": SessionState.LOCKED,
    "B": SessionState.CARD_BLOCKED,
    "E": SessionState.ENDED,
}
ERRORS: dict[str, type[KioskError]] = {"!": NotAllowedNow, "?": PinIncorrect, "#": PinLocked}
ACTIONS = ["insert_other", "remove", "remove_other", "pin_ok", "pin_bad", "indirect", "idle",
           "logout"]  # fmt: skip
# Every state × every input, in ACTIONS order: the state afterwards, and a mark when
# the input is refused (! not allowed now, ? wrong PIN, # card blocked).
TABLE = {
    "no_card":         "P  N  N  N! N! L  N  N",
    "card_present":    "P  N  P  L  P? P! P  P",
    "logged_in":       "L  E  L  L! L! L! K  E",
    "indirect":        "P  L  L  L! L! L! E  E",
    "locked":          "K  E  K  L  K? K! K  E",
    "card_blocked":    "B  N  B  B# B# B! B  B",
    "ended_with_card": "E  N  E  L  E? E! E  E",
    "ended_no_card":   "P  E  E  E! E! L  E  E",
}  # fmt: skip
CASES = [
    pytest.param(start, action, STATES[cell[0]], ERRORS.get(cell[1:]), id=f"{start}-{action}")
    for start, row in TABLE.items()
    for action, cell in zip(ACTIONS, row.split(), strict=True)
]


@pytest.mark.parametrize(("start", "action", "expected", "error"), CASES)
async def test_every_transition(
    desk: Desk,
    start: str,
    action: str,
    expected: SessionState,
    error: type[KioskError] | None,
) -> None:
    await drive(desk, start)
    if error is None:
        await act(desk, action)
    else:
        with pytest.raises(error):
            await act(desk, action)
    assert desk.session.state is expected
    if expected is SessionState.LOGGED_IN:
        signature = desk.session.signer.sign(b"x")
        assert verify_signature(desk.session.signer.certificate, b"x", signature)
    else:
        with pytest.raises(NotAllowedNow):
            _ = desk.session.signer


async def test_card_pulled_while_logged_in_ends_at_once_and_logs_out(
    desk: Desk, cps_module: CpsModule
) -> None:
    await drive(desk, "logged_in")
    signer = desk.session.signer
    await desk.session.card_removed(READER)
    assert desk.events[-1] == SessionEnded(EndReason.CARD_REMOVED)
    assert desk.session.professional is None
    with pytest.raises(CardRemoved):
        signer.sign(b"after the card left")
    # The token was logged out: the same card logs in afresh, not "already open".
    again = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    await again.aclose()


async def test_events_of_a_normal_login(desk: Desk) -> None:
    await drive(desk, "logged_in")
    assert desk.events[0] == CardPresented(READER)
    logged = desk.events[1]
    assert isinstance(logged, LoggedIn)
    assert logged.mode is SessionMode.DIRECT
    assert logged.professional.national_id == AGENT.national_id
    assert desk.session.signer.identity.national_id == AGENT.national_id


async def test_wrong_pins_then_blocked_card_is_never_tried_again(
    desk: Desk, pin_lock: SimulatedPinLock
) -> None:
    await drive(desk, "card_blocked")
    assert desk.events[1:] == [PinRefused(2, False), PinRefused(1, True), CardBlocked(READER)]
    tried = pin_lock.counter(AGENT.token_label).attempts
    with pytest.raises(PinLocked):
        await desk.session.login(AGENT.pin)
    assert pin_lock.counter(AGENT.token_label).attempts == tried
    await desk.session.card_removed(READER)
    assert desk.events[-1] == CardWithdrawn(READER)


async def test_activity_defers_the_inactivity_lock(desk: Desk) -> None:
    await drive(desk, "logged_in")
    await desk.idle(TIMEOUT - 1)
    desk.session.touch()
    await desk.idle(TIMEOUT - 1)
    assert desk.session.state is SessionState.LOGGED_IN
    await desk.idle(1)
    assert desk.session.state is SessionState.LOCKED
    assert isinstance(desk.events[-1], SessionLocked)


async def test_locked_session_signs_nothing_and_unlocks_with_the_pin(desk: Desk) -> None:
    await drive(desk, "logged_in")
    signer = desk.session.signer
    await desk.idle()
    with pytest.raises(CardRemoved):
        signer.sign(b"while locked")
    await desk.session.login(AGENT.pin)
    assert desk.session.state is SessionState.LOGGED_IN
    assert isinstance(desk.events[-1], LoggedIn)


async def test_indirect_session_signs_as_the_establishment_and_ends_when_idle(
    desk: Desk, test_pki: TestPki
) -> None:
    who = await desk.session.login_indirect(ORG.pin)
    assert who.national_id == ORG.national_id
    assert desk.session.mode is SessionMode.INDIRECT
    signature = desk.session.signer.sign(b"outbox")
    assert verify_signature(test_pki.certificate("establishment", "sign"), b"outbox", signature)
    await desk.idle()
    assert desk.events[-1] == SessionEnded(EndReason.INACTIVITY)


async def test_a_cpe_takes_over_an_indirect_session(desk: Desk) -> None:
    await drive(desk, "indirect")
    await desk.session.card_inserted(READER, AGENT.card_serial)
    assert desk.events[-2:] == [SessionEnded(EndReason.CARD_INSERTED), CardPresented(READER)]


async def test_card_pulled_during_the_pin_check_refuses_the_login(
    desk: Desk, cps_module: CpsModule
) -> None:
    await drive(desk, "card_present")
    login = asyncio.create_task(desk.session.login(AGENT.pin))
    await asyncio.sleep(0)  # the PIN check is now in the token's worker thread
    await desk.session.card_removed(READER)
    with pytest.raises(CardRemoved):
        await login
    assert desk.session.state is SessionState.NO_CARD
    again = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    await again.aclose()


async def test_indirect_mode_needs_configuration(cps_module: CpsModule) -> None:
    session = AgentSession(cps_module, FrozenClock())
    with pytest.raises(NotAllowedNow, match="not configured"):
        await session.login_indirect(ORG.pin)


async def test_unsubscribed_listener_hears_nothing_more(desk: Desk) -> None:
    heard: list[SessionEvent] = []
    stop = desk.session.subscribe(heard.append)
    await desk.session.card_inserted(READER, AGENT.card_serial)
    stop()
    await desk.session.card_removed(READER)
    assert heard == [CardPresented(READER)]


def test_softhsm_fixture_is_real(softhsm: SoftHsm) -> None:
    assert softhsm.conf_path.is_file()
