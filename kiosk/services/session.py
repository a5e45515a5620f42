"""The agent session: who is logged in at the desk, in which mode, and when that stops.

States (ARCHITECTURE.md §3, §9)::

    NO_CARD ──insert──▶ CARD_PRESENT ──PIN ok──▶ LOGGED_IN ──inactivity──▶ LOCKED
       │                    │  └─3rd wrong PIN──▶ CARD_BLOCKED               │
       │                    └────────pull───────▶ NO_CARD                    │ PIN ok
       └─establishment PIN─▶ LOGGED_IN (indirect)                            ▼
    LOGGED_IN / LOCKED ──pull the CPE, log out, or (indirect) inactivity──▶ ENDED

Decisions, for a trusted medical appliance:

- Direct mode signs with the agent's CPE; indirect mode with the establishment's
  ``ORG_SIGN`` token (DOMAIN.md §5), for kiosks without a card reader module.
- Pulling the CPE ends the session at once: the state changes and the event goes
  out before the token is logged out, so no screen keeps showing the agent's
  context for the duration of a PKCS#11 call. A login that finishes after its card
  was pulled is logged out and refused.
- Inactivity in direct mode locks (the card stays, the PIN unlocks; the token is
  logged out meanwhile, so nothing can be signed); in indirect mode, where nobody's
  card vouches for the person at the screen, it ends the session.
- A blocked card is never tried again: every later PIN is refused here, without a
  call to the token.
- A CPE inserted during an indirect session ends it: the agent takes over directly.
- In indirect mode the session names the agent who logged in locally, by name, before
  the establishment's token was opened (seed 000: « identification nominative »):
  :attr:`AgentSession.professional` is that person (``<structure>/<login>``), not the
  establishment, so the VIHF and every audit line name them.
- Time comes from the injected :class:`kiosk.clock.Clock`; the caller (the TUI's
  timer) calls :meth:`AgentSession.check_inactivity` and :meth:`AgentSession.touch`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kiosk.agents.ports import LocalAgent
from kiosk.cards.pin import PinState, PinStatus, pin_error
from kiosk.cards.professional import ProfessionalIdentity
from kiosk.clock import Clock
from kiosk.errors import CardRemoved, InvalidInput, PinIncorrect, PinLocked
from kiosk.locale import msg
from kiosk.printing.queue import PrintQueue, QueuedJob
from kiosk.signing import Signer

__all__ = [
    "AgentSession",
    "CardBlocked",
    "CardPresented",
    "CardWithdrawn",
    "EndReason",
    "LoggedIn",
    "LoggedInToken",
    "NotAllowedNow",
    "PinRefused",
    "SessionEnded",
    "SessionEvent",
    "SessionLocked",
    "SessionMode",
    "SessionState",
    "TokenLogin",
]


class SessionState(StrEnum):
    """Where the desk session stands."""

    NO_CARD = "no_card"
    CARD_PRESENT = "card_present"
    LOGGED_IN = "logged_in"
    LOCKED = "locked"
    CARD_BLOCKED = "card_blocked"
    ENDED = "ended"


class SessionMode(StrEnum):
    """Whose key signs: the agent's CPE (direct) or the establishment's (indirect)."""

    DIRECT = "direct"
    INDIRECT = "indirect"


class EndReason(StrEnum):
    """Why a session ended."""

    CARD_REMOVED = "card_removed"
    LOGOUT = "logout"
    INACTIVITY = "inactivity"
    CARD_INSERTED = "card_inserted"


@dataclass(frozen=True)
class SessionEvent:
    """Base of the events the TUI renders."""


@dataclass(frozen=True)
class CardPresented(SessionEvent):
    """A professional card is in ``reader``: ask for the PIN."""

    reader: str


@dataclass(frozen=True)
class CardWithdrawn(SessionEvent):
    """The card left before anyone logged in."""

    reader: str


@dataclass(frozen=True)
class PinRefused(SessionEvent):
    """Wrong PIN; ``last_try`` when one more wrong PIN blocks the card."""

    tries_left: int | None
    last_try: bool


@dataclass(frozen=True)
class CardBlocked(SessionEvent):
    """The card is blocked; it must be unblocked by its issuer."""

    reader: str


@dataclass(frozen=True)
class LoggedIn(SessionEvent):
    """Someone is logged in (also after unlocking)."""

    professional: ProfessionalIdentity
    mode: SessionMode


@dataclass(frozen=True)
class SessionLocked(SessionEvent):
    """Inactivity locked the session; the PIN unlocks it."""

    professional: ProfessionalIdentity


@dataclass(frozen=True)
class SessionEnded(SessionEvent):
    """The session is over; wipe the screen."""

    reason: EndReason


class NotAllowedNow(InvalidInput):
    """An action that the session's current state does not allow."""

    code = "SESSION_STATE"


class LoggedInToken(Protocol):
    """A logged-in card or establishment token (``kiosk.cards.pkcs11.CpsSession``)."""

    @property
    def professional(self) -> ProfessionalIdentity:
        """Who the token speaks for."""
        ...

    @property
    def signer(self) -> Signer:
        """The signature key."""
        ...

    async def aclose(self) -> None:
        """Log out and forget the key."""
        ...


class TokenLogin(Protocol):
    """What the session needs of the PKCS#11 adapter (``kiosk.cards.pkcs11.CpsModule``)."""

    async def login(
        self,
        pin: str,
        *,
        reader: str | None = None,
        card_serial: str | None = None,
        label: str | None = None,
    ) -> LoggedInToken:
        """Log in to the card in ``reader`` / ``card_serial``, or the token ``label``."""
        ...


Listener = Callable[[SessionEvent], None]


class AgentSession:
    """The desk's session state machine; every transition emits one or more events."""

    def __init__(
        self,
        tokens: TokenLogin,
        clock: Clock,
        *,
        inactivity_timeout_s: float = 300.0,
        establishment_label: str | None = None,
        print_queue: PrintQueue | None = None,
    ) -> None:
        self._tokens = tokens
        self.print_queue = print_queue
        """This session's receipts: kept for a reprint, wiped when the session ends."""
        self._clock = clock
        self.inactivity_timeout_s = inactivity_timeout_s
        self.establishment_label = establishment_label
        self.state = SessionState.NO_CARD
        self.mode: SessionMode | None = None
        self.reader: str | None = None
        self._card_serial: str | None = None
        self._token: LoggedInToken | None = None
        self.professional: ProfessionalIdentity | None = None
        self._last_activity = clock.monotonic()
        self._card_generation = 0
        self._listeners: list[Listener] = []
        self._busy = asyncio.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def signer(self) -> Signer:
        """The key that signs for the logged-in person; only while logged in."""
        if self.state is not SessionState.LOGGED_IN or self._token is None:
            raise NotAllowedNow(
                msg("services.session.agent_session_signer"),
            )
        return self._token.signer

    async def reprint_last(self) -> QueuedJob:
        """Print the session's last receipt again (paper jam, patient asks); logged in only."""
        if self.print_queue is None:
            raise NotAllowedNow(msg("services.session.agent_session_reprint_last"))
        if self.state is not SessionState.LOGGED_IN:
            raise self._not_now()  # asks for the agent's card and PIN first
        self.touch()
        return await self.print_queue.reprint()

    def touch(self) -> None:
        """Record user activity (a key press, a card read) that defers the inactivity lock."""
        if self.state is SessionState.LOGGED_IN:
            self._last_activity = self._clock.monotonic()

    async def card_inserted(self, reader: str, card_serial: str) -> None:
        """A CPS/CPE card arrived in ``reader`` (from the card monitor)."""
        if self.reader is not None:
            return  # one professional card at a time: the first one stays in charge
        if self.state is SessionState.LOGGED_IN or self.state is SessionState.LOCKED:
            await self._end(EndReason.CARD_INSERTED)  # only an indirect session has no card
        self._card_generation += 1
        self.reader, self._card_serial = reader, card_serial
        self.state = SessionState.CARD_PRESENT
        self._emit(CardPresented(reader))

    async def card_removed(self, reader: str) -> None:
        """The card left ``reader``; ends a direct session at once."""
        if reader != self.reader:
            return
        self._card_generation += 1
        self.reader = self._card_serial = None
        if self.state in (SessionState.LOGGED_IN, SessionState.LOCKED):
            await self._end(EndReason.CARD_REMOVED)
        elif self.state is not SessionState.NO_CARD:
            self.state = SessionState.NO_CARD
            self._emit(CardWithdrawn(reader))

    async def login(self, pin: str) -> ProfessionalIdentity:
        """Log in (or unlock) with the PIN of the card present; the PIN is not kept."""
        async with self._busy:
            if self.state is SessionState.CARD_BLOCKED:
                raise pin_error(PinStatus(PinState.LOCKED, 0))
            allowed = (SessionState.CARD_PRESENT, SessionState.LOCKED, SessionState.ENDED)
            if self.reader is None or self.state not in allowed:
                raise self._not_now()
            generation = self._card_generation
            try:
                token = await self._tokens.login(
                    pin, reader=self.reader, card_serial=self._card_serial
                )
            except PinIncorrect as exc:
                last = exc.tries_left == 1
                self._emit(PinRefused(exc.tries_left, last))
                raise
            except PinLocked:
                if generation == self._card_generation and self.reader is not None:
                    self.state = SessionState.CARD_BLOCKED
                    self._emit(CardBlocked(self.reader))
                raise
            if generation != self._card_generation:
                await token.aclose()  # the card was pulled while the PIN was checked
                raise CardRemoved(msg("services.session.agent_session_login"))
            return self._logged_in(token, SessionMode.DIRECT)

    async def login_indirect(
        self, pin: str, *, agent: LocalAgent | None = None
    ) -> ProfessionalIdentity:
        """Open an indirect session on the establishment's token (no CPE present).

        ``agent`` is the person the directory just authenticated: the session is theirs.
        """
        async with self._busy:
            if self.establishment_label is None:
                raise NotAllowedNow(
                    msg("services.session.agent_session_login_indirect"),
                )
            if self.reader is not None or self.state not in (
                SessionState.NO_CARD,
                SessionState.ENDED,
            ):
                raise self._not_now()
            generation = self._card_generation
            token = await self._tokens.login(pin, label=self.establishment_label)
            if generation != self._card_generation:
                await token.aclose()  # a CPE arrived meanwhile: it takes precedence
                raise self._not_now()
            named = None
            if agent is not None:
                from kiosk.services.named import named_identity

                named = named_identity(token.professional, agent)
            return self._logged_in(token, SessionMode.INDIRECT, named)

    async def check_inactivity(self) -> None:
        """Lock (direct) or end (indirect) a session idle for the configured timeout."""
        if self.state is not SessionState.LOGGED_IN:
            return
        idle = self._clock.monotonic() - self._last_activity
        if idle < self.inactivity_timeout_s:
            return
        if self.mode is SessionMode.INDIRECT:
            await self._end(EndReason.INACTIVITY)
            return
        token, self._token = self._token, None
        self.state = SessionState.LOCKED
        assert self.professional is not None
        self._emit(SessionLocked(self.professional))
        if token is not None:
            await token.aclose()

    async def logout(self) -> None:
        """End the session on request; the card, if any, stays and may log in again."""
        if self.state in (SessionState.LOGGED_IN, SessionState.LOCKED):
            await self._end(EndReason.LOGOUT)

    def _logged_in(
        self,
        token: LoggedInToken,
        mode: SessionMode,
        professional: ProfessionalIdentity | None = None,
    ) -> ProfessionalIdentity:
        who = professional or token.professional
        self._token = token
        self.professional = who
        self.mode = mode
        self.state = SessionState.LOGGED_IN
        self._last_activity = self._clock.monotonic()
        self._emit(LoggedIn(who, mode))
        return who

    async def _end(self, reason: EndReason) -> None:
        # State and event first, logout second: the screen is wiped at once.
        token, self._token = self._token, None
        self.professional = None
        self.mode = None
        self.state = SessionState.ENDED
        if self.print_queue is not None:
            self.print_queue.wipe()  # the credentials leave memory with the session
        self._emit(SessionEnded(reason))
        if token is not None:
            await token.aclose()

    def _emit(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _not_now(self) -> NotAllowedNow:
        if self.state is SessionState.LOGGED_IN:
            return NotAllowedNow(msg("services.session.agent_session_not_now_2"))
        if self.reader is None:
            return NotAllowedNow(msg("services.session.agent_session_not_now_3"), detail=self.state)
        return NotAllowedNow(
            msg("services.session.agent_session_not_now"),
            detail=self.state,
        )
