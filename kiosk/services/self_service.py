"""The self-service kiosk's patient: one at a time, sent to the desk when needed, always wiped.

ARCHITECTURE.md §9 and issue 18. A Vitale card inserted at the attract screen begins an
:class:`~kiosk.services.admission.Admission` on the establishment's certificate
(indirect mode, the installation named, no agent); the screens drive it one call each.
The kiosk never finishes what needs an agent (:class:`~kiosk.domain.selfservice.RouteReason`):
:meth:`SelfService.route_to_desk` prints a ticket with the reason's code and the time —
nothing of the patient on it — and sends nothing to the DMP. Pulling the card, the
inactivity countdown running out (:func:`~kiosk.domain.selfservice.presence`) and the
end of the flow all wipe: the admission forgets the patient and the kiosk holds nothing
of them. Each route and wipe writes its audit line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum

from kiosk.cards.ports import CardEvent, CardInserted, CardKind, CardRemoved, ReaderRemoved
from kiosk.clock import Clock, uuid7
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.domain.ins import IdentityNotQualified
from kiosk.domain.minors import is_minor
from kiosk.domain.selfservice import Farewell, Presence, PresenceCheck, RouteReason, presence
from kiosk.domain.vitale import Beneficiary
from kiosk.errors import CardReadError, InvalidInput, Unavailable
from kiosk.insi.protocol import ResultCode
from kiosk.locale import msg, text
from kiosk.printing.ports import JobKind, PrintJob
from kiosk.printing.profiles import PrinterProfile
from kiosk.printing.queue import PrintQueue
from kiosk.services.activity import Activity, Serving
from kiosk.services.admission import Admission, AuditTrail
from kiosk.services.stages import TERMINAL, Stage

__all__ = ["COUNTDOWN_S", "SelfService", "TicketPrinter", "WipeReason"]

COUNTDOWN_S = 15.0
"""How long "Are you still there?" waits before the wipe (issue 18)."""


_DMP_ROUTES = {
    Stage.CLOSED: RouteReason.DMP_CLOSED,
    Stage.OPPOSED: RouteReason.OPPOSED,
    Stage.FORBIDDEN: RouteReason.DMP_REFUSED,
}
"""The DMP statuses the kiosk may not handle alone."""


class WipeReason(StrEnum):
    """Why the kiosk forgot its patient."""

    CARD_REMOVED = "card_removed"
    TIMEOUT = "timeout"
    FINISHED = "finished"


class TicketPrinter:
    """Renders the route-to-desk ticket and hands it to the kiosk's print queue."""

    def __init__(
        self, queue: PrintQueue, profile: PrinterProfile, clock: Clock, *, establishment: str
    ) -> None:
        self._queue = queue
        self._profile = profile
        self._clock = clock
        self._establishment = establishment

    def _job(self, reason: RouteReason, lang: str) -> PrintJob:
        from kiosk.printing.receipt import TicketContent, print_job, ticket_layout

        content = TicketContent(
            establishment=self._establishment,
            printed_at=self._clock.now(),
            reason_code=reason.code,
            reason=text(f"selfservice.route.{reason.value}", lang),
            lang=lang,
        )
        return print_job(
            f"ticket-{uuid7(self._clock)}", JobKind.TICKET, ticket_layout(content), self._profile
        )

    async def print_ticket(self, reason: RouteReason, lang: str) -> None:
        """Render off the loop and print; a printer error leaves the job queued."""
        job = await asyncio.to_thread(self._job, reason, lang)
        await self._queue.submit(job)


class SelfService(Serving):
    """The patient at the self-service kiosk, if any, and what ends their visit."""

    def __init__(
        self,
        *,
        begin: Callable[[str], Admission],
        tickets: TicketPrinter,
        trail: AuditTrail,
        clock: Clock,
        installation: str,
        timeout_s: float,
        countdown_s: float = COUNTDOWN_S,
        activity: Activity | None = None,
    ) -> None:
        super().__init__(activity)
        self._begin = begin
        self._tickets = tickets
        self._trail = trail
        self._clock = clock
        self._installation = installation
        self.timeout_s = timeout_s
        self.countdown_s = countdown_s
        self.routed: RouteReason | None = None
        """Why this patient was sent to the desk, once they were."""
        self.farewell: Farewell | None = None
        """How the last visit ended, shown until its card is taken back (nothing personal)."""
        self._last_touch = clock.now()

    def __repr__(self) -> str:
        return f"SelfService(admission={self.admission!r}, routed={self.routed})"

    async def card_event(self, event: CardEvent) -> None:
        """A Vitale card in begins a visit; the same card out wipes it at once."""
        admission = self.admission
        if isinstance(event, CardRemoved | ReaderRemoved):
            self.farewell = None  # the card is taken back
        if isinstance(event, CardInserted) and event.kind is CardKind.VITALE and admission is None:
            self.farewell = None
            self.admission = self._begin(event.reader)
            self.admission.start_reading()
            self.touch()
        elif (
            isinstance(event, CardRemoved | ReaderRemoved)
            and admission is not None
            and admission.reader == event.reader
        ):
            await self.wipe(WipeReason.CARD_REMOVED)

    def touch(self) -> None:
        """The patient touched the screen or a key: the countdown starts again."""
        self._last_touch = self._clock.now()

    def presence(self) -> PresenceCheck:
        """Active, asking "Are you still there?", or expired; always active with no patient."""
        if self.admission is None:
            return PresenceCheck(Presence.ACTIVE, self.timeout_s + self.countdown_s)
        return presence(
            self._last_touch,
            self._clock.now(),
            timeout_s=self.timeout_s,
            countdown_s=self.countdown_s,
        )

    async def check_presence(self) -> PresenceCheck:
        """The presence now; an expired one wipes the patient first."""
        check = self.presence()
        if check.state is Presence.EXPIRED:
            await self.wipe(WipeReason.TIMEOUT)
        return check

    async def read_card(self, lang: str) -> tuple[Beneficiary, ...] | RouteReason:
        """The card's beneficiaries; an unreadable card sends the patient to the desk."""
        try:
            return await self._visit().read_card()
        except (CardReadError, Unavailable):
            await self.route_to_desk(RouteReason.CARD_UNREADABLE, lang)
            return RouteReason.CARD_UNREADABLE

    async def identify(self, index: int, person: Beneficiary, lang: str) -> RouteReason | Stage:
        """Beneficiary ``index`` chosen: INSi, the kiosk's rules, then the DMP's status.

        Returns the DMP's status (:attr:`Stage.NO_DMP`, :attr:`Stage.NEEDS_AUTHORIZATION`)
        when the visit goes on; :attr:`Stage.AUTHORIZED` when there is nothing to do (the
        visit is finished: the app returns to its attract screen); otherwise the reason
        the patient is sent to the desk, the ticket already printed. In that order: a
        minor (their representative consents at the desk), INSi unreachable, no or
        several identities, a trait the card and INSi disagree on, an identity this kiosk
        may not qualify (RNIV: only an agent checks the identity document; a patient
        qualified at an earlier visit whom INSi returns unchanged stays qualified), then
        a DMP closed, opposed, refused or unreachable.
        """
        admission = self._visit()
        admission.choose(index)
        reason = await self._identity_reason(admission, person)
        outcome = reason if reason is not None else await self._dmp_reason(admission)
        if isinstance(outcome, RouteReason):
            await self.route_to_desk(outcome, lang)
        elif outcome is Stage.AUTHORIZED:
            await self.finish(Farewell.ALREADY)
        return outcome

    async def _identity_reason(
        self, admission: Admission, person: Beneficiary
    ) -> RouteReason | None:
        if is_minor(person.birth_date, self._clock.now().astimezone().date()):
            return RouteReason.MINOR
        try:
            check = await admission.search_identity()
        except Unavailable:
            return RouteReason.SERVICE_DOWN
        if check.code is ResultCode.SEVERAL:
            return RouteReason.SEVERAL_IDENTITIES
        if check.identity is None:
            return RouteReason.NO_IDENTITY
        if check.card_differences:
            return RouteReason.INSI_MISMATCH
        try:
            await admission.qualify()
        except IdentityNotQualified:
            return RouteReason.NOT_QUALIFIED
        except Unavailable:
            return RouteReason.SERVICE_DOWN
        return None

    @staticmethod
    async def _dmp_reason(admission: Admission) -> RouteReason | Stage:
        try:
            stage = await admission.dmp_status()
        except Unavailable:
            return RouteReason.SERVICE_DOWN
        return _DMP_ROUTES.get(stage, stage)

    async def inform(self) -> Stage:
        """ "I have read it": the information given, on the kiosk (no brochure handed)."""
        return await self._visit().give_information(brochure=False)

    async def consent(
        self,
        lang: str,
        *,
        creation: bool,
        establishment_access: bool,
        emergency_access: bool,
        regulation_centre_access: bool,
    ) -> RouteReason | Stage:
        """The patient's answers, recorded; with creation, TD1.1 queued and awaited online.

        Created: the visit goes on to the connection details. Queued (the DMP does not
        answer) or not wanted: the visit is finished. A creation the DMP refused sends
        the patient to the desk.
        """
        stage = await self._visit().consent(
            creation=creation,
            establishment_access=establishment_access,
            emergency_access=emergency_access,
            regulation_centre_access=regulation_centre_access,
        )
        if stage is Stage.CREATION_FAILED:
            await self.route_to_desk(RouteReason.DMP_REFUSED, lang)
            return RouteReason.DMP_REFUSED
        if stage is Stage.DEFERRED:
            await self.finish(Farewell.DEFERRED)
        elif stage is Stage.CONSENT_REFUSED:
            await self.finish(Farewell.NOT_CREATED)
        return stage

    async def authorize(self, *, agreed: bool) -> Stage:
        """This establishment's access to the patient's existing DMP, given or refused; done."""
        stage = await self._visit().authorize(agreed=agreed)
        await self.finish(Farewell.AUTHORIZED if agreed else Farewell.DECLINED)
        return stage

    async def conclude(self, *, mobile: str | None) -> None:
        """After the creation: the connection details if asked, then the visit ends.

        The details need a web account (TD1.5), whose one-time codes go to ``mobile``;
        None: not wanted. An invalid number or a printer fault leaves the visit open
        (the account, once opened, is not asked twice): try again, or say no.
        """
        admission = self._visit()
        if mobile is not None:
            if admission.stage is not Stage.WEB_ACCOUNT_OPEN:
                await admission.open_web_account(mobile=mobile)
            await admission.print_credentials()
        await self.finish(Farewell.CREATED)

    async def finish(self, farewell: Farewell) -> None:
        """The visit is over: say how on the attract screen, and wipe."""
        admission = self._visit()
        if admission.stage is not None and admission.stage not in TERMINAL:
            admission.finish()
        await self.wipe(WipeReason.FINISHED)
        self.farewell = farewell

    def _visit(self) -> Admission:
        if self.admission is None:
            raise InvalidInput(msg("services.self_service.no_visit"), detail="no card")
        return self.admission

    async def route_to_desk(self, reason: RouteReason, lang: str) -> None:
        """Print the ticket for the desk and say why in the audit; nothing goes to the DMP."""
        self.routed = reason
        await self._audit(AuditKind.SELF_SERVICE_ROUTED, {"reason": reason.code})
        await self._tickets.print_ticket(reason, lang)

    async def wipe(self, reason: WipeReason) -> None:
        """Forget the patient: the admission, its card data, flows and credentials."""
        admission, self.admission = self.admission, None
        self.routed = None
        if admission is None:
            return
        admission.wipe()
        await self._audit(AuditKind.SELF_SERVICE_WIPED, {"reason": reason.value})

    async def _audit(self, kind: AuditKind, details: dict[str, str]) -> None:
        event = AuditEvent(
            self._clock.now(),
            kind,
            actor=self._installation,
            details={"mode": "self", **details},
        )
        await asyncio.shield(self._trail.record(event))
