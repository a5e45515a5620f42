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
from kiosk.domain.selfservice import Presence, PresenceCheck, RouteReason, presence
from kiosk.domain.vitale import Beneficiary
from kiosk.errors import InvalidInput, Unavailable
from kiosk.insi.protocol import ResultCode
from kiosk.locale import msg, text
from kiosk.printing.ports import JobKind, PrintJob
from kiosk.printing.profiles import PrinterProfile
from kiosk.printing.queue import PrintQueue
from kiosk.services.admission import Admission, AuditTrail

__all__ = ["COUNTDOWN_S", "SelfService", "TicketPrinter", "WipeReason"]

COUNTDOWN_S = 15.0
"""How long "Are you still there?" waits before the wipe (issue 18)."""


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


class SelfService:
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
    ) -> None:
        self._begin = begin
        self._tickets = tickets
        self._trail = trail
        self._clock = clock
        self._installation = installation
        self.timeout_s = timeout_s
        self.countdown_s = countdown_s
        self.admission: Admission | None = None
        """The patient's admission, from their card's insertion to the wipe."""
        self.routed: RouteReason | None = None
        """Why this patient was sent to the desk, once they were."""
        self._last_touch = clock.now()

    def __repr__(self) -> str:
        return f"SelfService(admission={self.admission!r}, routed={self.routed})"

    async def card_event(self, event: CardEvent) -> None:
        """A Vitale card in begins a visit; the same card out wipes it at once."""
        admission = self.admission
        if isinstance(event, CardInserted) and event.kind is CardKind.VITALE and admission is None:
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

    async def identify(self, index: int, person: Beneficiary, lang: str) -> RouteReason | None:
        """Beneficiary ``index`` chosen: INSi, then what the kiosk may do alone.

        Returns None when the identity is qualified and the visit goes on; otherwise the
        reason the patient is sent to the desk, the ticket already printed. In that order:
        a minor (their representative consents at the desk), INSi unreachable, no or
        several identities, a trait the card and INSi disagree on, an identity this
        kiosk may not qualify (RNIV: only an agent checks the identity document).
        """
        admission = self._visit()
        admission.choose(index)
        reason = await self._identity_reason(admission, person)
        if reason is not None:
            await self.route_to_desk(reason, lang)
        return reason

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
