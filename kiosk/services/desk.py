"""The admission desk as the TUI sees it: cards to the session, the agent's login, one admission.

:class:`Desk` is the one object the desk screens call (STYLE.md §6). It routes the
card monitor's events: a CPS/CPE card goes to the :class:`AgentSession` with its
serial (the PKCS#11 adapter finds the card by it); a Vitale card is left to the
screens, which start an :class:`~kiosk.services.admission.Admission` on it once an
agent is logged in. Pulling the Vitale card of the admission in progress wipes that
admission at once, before any screen hears of it; pulling the CPE ends the session,
and with it the admission (a creation already queued stays queued: the outbox owns
it).

A patient of this session can be reopened (:meth:`Desk.reopen`): an admission that
recorded something in the DMP or the outbox (a DMP created or queued, an
authorization given, a web account opened) is set aside when the agent moves on or
the card leaves, so that its receipt can be printed again or its web account opened
later in the session, without the card. What is set aside stays in this object only
(never on a screen) and is wiped with the session: logout, lock-out by inactivity in
indirect mode, CPE pulled. At most :data:`KEPT_PATIENTS`, the oldest wiped first.

Each session change is audited here, because every one goes through here: card
inserted or removed (the reader and the card's kind, nothing else), login, lock and
logout with the reason.

Indirect mode (seed 000: « L'accès au DMP nécessite une identification nominative, il
faut donc que le PS s’authentifie localement »): where the site has an
:class:`~kiosk.agents.ports.AgentDirectory`, :meth:`Desk.login_indirect` first checks the
agent's name and password there, and only then opens the establishment's token; the
session, the VIHF and every audit line then name that agent. A refused name is audited
(``session.login_refused``, the login typed and the reason; never the password). A site
that requires named agents (production) refuses indirect mode without a directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from kiosk.agents.ports import AgentDirectory, LocalAgent
from kiosk.cards.ports import (
    ApduChannel,
    CardEvent,
    CardInserted,
    CardKind,
    CardRemoved,
    ReaderRemoved,
)
from kiosk.cards.professional import ProfessionalIdentity
from kiosk.cards.serial import read_card_serial
from kiosk.clock import Clock
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.domain.vitale import VitaleCardData
from kiosk.errors import AccessDenied, InvalidInput
from kiosk.locale import msg
from kiosk.services.activity import Activity, Serving
from kiosk.services.admission import Admission, Agent, AuditTrail, QueuePosition
from kiosk.services.documents import DocumentDesk
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.identity import IdentityFlow
from kiosk.services.session import AgentSession, EndReason, NotAllowedNow, SessionState
from kiosk.services.stages import Stage
from kiosk.signing import Signer

__all__ = ["KEPT_PATIENTS", "REOPENABLE", "Desk", "SessionPatient"]

KEPT_PATIENTS = 20
"""Admissions of one session set aside for reopening, at most."""

REOPENABLE = frozenset({Stage.CREATED, Stage.DEFERRED, Stage.AUTHORIZED, Stage.WEB_ACCOUNT_OPEN})
"""Stages worth coming back to: something was recorded and a step may follow."""


@dataclass(frozen=True)
class SessionPatient:
    """One admission of this session the agent may reopen, as the list shows it."""

    index: int
    """What :meth:`Desk.reopen` takes."""
    name: str
    stage: Stage
    printed: bool


class Desk(Serving):
    """Cards, login and the admission in progress, for one desk."""

    def __init__(
        self,
        *,
        session: AgentSession,
        trail: AuditTrail,
        queue: QueuePosition,
        clock: Clock,
        open_channel: Callable[[str], Awaitable[ApduChannel]],
        read_vitale: Callable[[str], Awaitable[VitaleCardData]],
        identity_flow: Callable[[Callable[[], Awaitable[VitaleCardData]]], IdentityFlow],
        enrolment_flow: Callable[[Signer, str, str, str], EnrolmentFlow],
        document_desk: Callable[[Signer, str], DocumentDesk] | None = None,
        agents: AgentDirectory | None = None,
        named_agents_required: bool = False,
        establishment_pin: Callable[[], str] | None = None,
        activity: Activity | None = None,
    ) -> None:
        super().__init__(activity)
        self.session = session
        self.agents = agents
        """Where named agents log in for indirect mode; None: no directory."""
        self._named_required = named_agents_required
        self._establishment_pin = establishment_pin
        self._trail = trail
        self._queue = queue
        self._clock = clock
        self._open_channel = open_channel
        self._read_vitale = read_vitale
        self._identity_flow = identity_flow
        self._enrolment_flow = enrolment_flow
        self._document_desk = document_desk
        self._kept: list[Admission] = []
        """This session's earlier admissions that may be reopened, oldest first."""

    def __repr__(self) -> str:
        return f"Desk(session={self.session.state.value}, admission={self.admission!r})"

    async def card_event(self, event: CardEvent) -> None:
        """One event of the card monitor, in order: audit it and route it."""
        if isinstance(event, CardInserted):
            await self._audit(
                AuditKind.CARD_INSERTED, {"reader": event.reader, "card": event.kind.value}
            )
            if event.kind is CardKind.CPS:
                serial = await read_card_serial(self._open_channel, event.reader)
                await self.session.card_inserted(event.reader, serial or "")
        elif isinstance(event, CardRemoved | ReaderRemoved):
            if self.admission is not None and self.admission.reader == event.reader:
                self.end_admission()
            if isinstance(event, CardRemoved):
                await self._audit(AuditKind.CARD_REMOVED, {"reader": event.reader})
            was, who = self.session.state, self.session.professional
            await self.session.card_removed(event.reader)
            if was is not self.session.state and self.session.state is SessionState.ENDED:
                await self._ended(EndReason.CARD_REMOVED, who)

    async def login(self, pin: str) -> ProfessionalIdentity:
        """Log in (or unlock) with the PIN of the CPE present; the PIN is not kept."""
        professional = await self.session.login(pin)
        await self._audit(AuditKind.LOGIN, {"mode": "direct"})
        return professional

    async def login_indirect(
        self, pin: str, name: str | None = None, password: str | None = None
    ) -> ProfessionalIdentity:
        """Log in on the establishment's certificate (indirect mode), where the site allows it.

        With an agent directory, ``name`` and ``password`` are checked there first (the
        password is not kept); the session then names that agent.
        """
        agent = await self.named_agent(name, password)
        if agent is not None and not pin and self._establishment_pin is not None:
            pin = self._establishment_pin()  # the site's, read now: agents never type it
        professional = await self.session.login_indirect(pin, agent=agent)
        details = {"mode": "indirect"}
        if agent is not None:
            details |= {"agent": agent.login, "directory": agent.source}
        await self._audit(AuditKind.LOGIN, details)
        return professional

    @property
    def needs_agent_login(self) -> bool:
        """Whether indirect mode asks for a name and a password (an agent directory is set)."""
        return self.agents is not None

    @property
    def asks_establishment_pin(self) -> bool:
        """Whether a named login also asks for the establishment token's PIN (no PIN file)."""
        return self._establishment_pin is None

    async def named_agent(self, name: str | None, password: str | None) -> LocalAgent | None:
        """The agent ``name``/``password`` designate, through the directory; None without one."""
        if self.agents is None:
            if self._named_required:
                raise NotAllowedNow(msg("services.desk.named_agents_required"))
            return None
        if not name or not name.strip() or not password:
            raise InvalidInput(msg("services.desk.agent_name_required"), detail="agent")
        try:
            return await self.agents.authenticate(name, password)
        except AccessDenied as exc:
            await self._audit(
                AuditKind.LOGIN_REFUSED, {"agent": name.strip()[:64], "reason": exc.code}
            )
            raise

    async def logout(self) -> None:
        """End the session on the agent's request."""
        if self.session.state in (SessionState.LOGGED_IN, SessionState.LOCKED):
            who = self.session.professional
            await self.session.logout()
            await self._ended(EndReason.LOGOUT, who)

    async def check_inactivity(self) -> None:
        """Lock (direct) or end (indirect) a session idle past its timeout."""
        before, who = self.session.state, self.session.professional
        await self.session.check_inactivity()
        if self.session.state is before:
            return
        if self.session.state is SessionState.LOCKED:
            await self._audit(AuditKind.SESSION_LOCKED, {"reason": EndReason.INACTIVITY.value})
        elif self.session.state is SessionState.ENDED:
            await self._ended(EndReason.INACTIVITY, who)

    def touch(self) -> None:
        """A key press: defers the inactivity lock."""
        self.session.touch()

    async def reprint_last(self) -> None:
        """Print the session's last receipt again (paper jam, the patient came back)."""
        await self.session.reprint_last()
        await self._audit(AuditKind.RECEIPT_REPRINTED, {"from": "session"})

    @staticmethod
    def document_types() -> tuple[str, ...]:
        """The document types the desk sends (``tui.documents.type.<key>`` labels them)."""
        return tuple(DocumentDesk.types())

    def documents(self) -> DocumentDesk:
        """The document actions of the agent logged in (their VIHF, their audit lines)."""
        if (
            self.session.state is not SessionState.LOGGED_IN
            or self.session.professional is None
            or self._document_desk is None
        ):
            raise InvalidInput(msg("services.desk.login_first"), detail=self.session.state)
        return self._document_desk(self.session.signer, self.session.professional.national_id)

    def begin_admission(self, reader: str) -> Admission:
        """A new admission on the Vitale card in ``reader``; the previous one is wiped."""
        if self.session.state is not SessionState.LOGGED_IN or self.session.professional is None:
            raise InvalidInput(msg("services.desk.login_first"), detail=self.session.state)
        self.end_admission()
        signer = self.session.signer
        professional = self.session.professional
        mode = self.session.mode.value if self.session.mode else ""
        agent = Agent(professional.national_id, mode)

        def enrolment(first_name: str, family_name: str) -> EnrolmentFlow:
            return self._enrolment_flow(signer, agent.national_id, first_name, family_name)

        self.admission = Admission(
            reader=reader,
            identity=self._identity_flow(lambda: self._read_vitale(reader)),
            enrolment=enrolment,
            trail=self._trail,
            queue=self._queue,
            clock=self._clock,
            agent=agent,
        )
        self.admission.start_reading()  # its first step, whatever screen shows it
        self.session.touch()
        return self.admission

    def end_admission(self) -> None:
        """The patient at the desk leaves it (next patient, card pulled).

        An admission that recorded something (:data:`REOPENABLE`) is set aside for
        :meth:`reopen` while the session lasts; any other is wiped at once.
        """
        admission, self.admission = self.admission, None
        if admission is None:
            return
        if admission.stage in REOPENABLE and self.session.state is SessionState.LOGGED_IN:
            self._kept.append(admission)
            while len(self._kept) > KEPT_PATIENTS:
                self._kept.pop(0).wipe()
        else:
            admission.wipe()

    def session_patients(self) -> list[SessionPatient]:
        """This session's admissions that may be reopened, the latest first."""
        return [
            SessionPatient(index, kept.patient_name, kept.stage or Stage.START, kept.printed)
            for index, kept in reversed(list(enumerate(self._kept)))
        ]

    async def reopen(self, index: int) -> Admission:
        """Bring back an admission of this session (reprint, the web account asked later).

        The admission at the desk, if any, is set aside (or wiped) first.
        """
        if self.session.state is not SessionState.LOGGED_IN:
            raise InvalidInput(msg("services.desk.login_first"), detail=self.session.state)
        if not 0 <= index < len(self._kept):
            raise InvalidInput(msg("services.desk.reopen_gone"), detail=str(index))
        chosen = self._kept[index]
        self.end_admission()
        self._kept.remove(chosen)
        self.admission = chosen
        self.session.touch()
        stage = chosen.stage.value if chosen.stage else ""
        await self._audit(AuditKind.ADMISSION_REOPENED, {"stage": stage})
        return chosen

    def _wipe_all(self) -> None:
        admission, self.admission = self.admission, None
        kept, self._kept = self._kept, []
        for each in (*kept, *([admission] if admission else [])):
            each.wipe()

    async def _ended(self, reason: EndReason, who: ProfessionalIdentity | None) -> None:
        self._wipe_all()
        await self._audit(AuditKind.LOGOUT, {"reason": reason.value}, who)

    async def _audit(
        self,
        kind: AuditKind,
        details: Mapping[str, str],
        who: ProfessionalIdentity | None = None,
    ) -> None:
        professional = who or self.session.professional
        event = AuditEvent(
            self._clock.now(),
            kind,
            actor=professional.national_id if professional else "",
            details=dict(details),
        )
        await asyncio.shield(self._trail.record(event))
