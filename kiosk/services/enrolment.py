"""The admission flow as an explicit state machine: identity → DMP → consent → creation → print.

The rules (DOMAIN.md §1, §6; ARCHITECTURE.md §5, §6, §9):

* Only a **qualified** identity reaches the DMP: the flow starts from the identity
  service's record, and an identity that is not qualified ends in ``UNQUALIFIED``
  (route to the desk); no transition leaves that state.
* TD0.2 is skipped when the local record already knows the DMP and our authorization
  (load etiquette, DOMAIN.md §5).
* No DMP: information given (brochure), then consent with its authorizations
  (creation, establishment access, emergency access — yes by default —, regulation
  centre access). The creation goes through the outbox, also when online (one code
  path); when online its result is awaited, otherwise the flow ends ``DEFERRED`` and
  the sync worker delivers it later with the same idempotency key.
* A DMP without our authorization: the patient may give it (TD0.3, through the outbox).
* Mon espace santé (seed 004: « le DMP est automatiquement créé pour les usagers non
  détenteurs sauf en cas d'opposition »): most patients arrive with a DMP. A closed one
  ends ``CLOSED``; only the patient, in person, has it reopened (TD1.2, sent at once:
  the patient is there and waits for the answer; queued in the outbox like every write),
  and the flow goes on to our
  authorization as TD0.2 told it. A patient who opposed the creation ends ``OPPOSED``:
  no creation is offered. Seed 001: the patient « décide de sa création et de sa
  fermeture » — TD1.4 closes an open DMP we may reach, at their request, with their reason.
* The web account (TD1.5) is opened on request, with a mobile number or an e-mail for
  the one-time codes; it needs the patient present and hands back a temporary
  password, so it is a direct call, never queued. The credentials are printed only
  on request, may be printed again, and leave memory with :meth:`EnrolmentFlow.wipe`.

:data:`~kiosk.services.stages.TRANSITIONS` is the whole machine, pure and testable exhaustively; the
:class:`EnrolmentFlow` driver performs the side effects through injected ports and
moves only along the table.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from kiosk.clock import Clock
from kiosk.dmp.items import authorization_item, closure_item, creation_item, reactivation_item
from kiosk.dmp.transactions import (
    AuthorizationStatus,
    ConsentStatement,
    CreationRequest,
    DmpState,
    ExistenceResponse,
    VitaleTraits,
    WebAccountRequest,
    WebCredentials,
)
from kiosk.domain.consent import Consent, ConsentRecord, InformationChannel, InformationGiven
from kiosk.domain.ins import Identity, Ins
from kiosk.domain.minors import LegalRepresentative, is_minor, require_representative
from kiosk.errors import InvalidInput, ServiceError
from kiosk.locale import msg
from kiosk.outbox.ports import Delivery
from kiosk.records.record import KnownDmp
from kiosk.services.stages import Event, InvalidTransition, Stage, advance

__all__ = ["CredentialsPrinter", "DmpPort", "DmpRecords", "EnrolmentFlow", "OutboxPort"]


class DmpPort(Protocol):
    """The direct DMP calls of the flow (a :class:`kiosk.dmp.client.DmpClient`)."""

    async def existence(self, patient: Ins) -> ExistenceResponse:
        """TD0.2."""
        ...

    async def open_web_account(self, request: WebAccountRequest) -> WebCredentials:
        """TD1.5."""
        ...


class OutboxPort(Protocol):
    """Every DMP write: queued durably first, then delivered now if the DMP answers."""

    async def enqueue(self, kind: str, key: str, payload: bytes) -> None:
        """Commit the item (signed by the session's identity) before returning."""
        ...

    async def deliver(self, key: str) -> tuple[Delivery, str]:
        """Try to send now; what became of ``key`` and the last error code."""
        ...


class CredentialsPrinter(Protocol):
    """Prints the web account receipt and prints it again on request."""

    async def print_credentials(self, credentials: WebCredentials) -> None:
        """Print the identifier and temporary password."""
        ...


class DmpRecords(Protocol):
    """The local record of DMP facts, to spare the DMP a TD0.2 (load etiquette)."""

    async def known(self, patient: Ins) -> KnownDmp | None:
        """What is known, or None."""
        ...

    async def remember(self, patient: Ins, fact: KnownDmp) -> None:
        """Keep a fact learnt from the DMP."""
        ...

    async def inform(self, patient: Ins, given: InformationGiven) -> None:
        """Keep the information given to the patient (apart from any consent)."""
        ...

    async def informed(self, patient: Ins) -> InformationGiven | None:
        """The last information given to the patient, at this visit or an earlier one."""
        ...


class EnrolmentFlow:
    """One admission, driven through the ports; moves only along :data:`TRANSITIONS`."""

    def __init__(
        self,
        *,
        dmp: DmpPort,
        outbox: OutboxPort,
        records: DmpRecords,
        printer: CredentialsPrinter,
        clock: Clock,
        structure_id: str,
        recorded_by: str,
        channel: InformationChannel = InformationChannel.DESK,
        brochure_version: str = "",
    ) -> None:
        self._dmp = dmp
        self._outbox = outbox
        self._records = records
        self._printer = printer
        self._clock = clock
        self._structure = structure_id
        self._recorded_by = recorded_by
        self._channel = channel
        self._brochure_version = brochure_version
        self.stage = Stage.START
        self.history: list[tuple[Stage, Event, Stage]] = []
        self.last_error = ""
        self.last_key = ""
        """The idempotency key of the last write queued (to show its place in the queue)."""
        self._ins: Ins | None = None
        self._traits: VitaleTraits | None = None
        self._information: InformationGiven | None = None
        self.earlier_information: InformationGiven | None = None
        """Information given at an earlier visit or on the kiosk, read once the DMP is
        known to be absent: consent may be taken on its strength."""
        self._credentials: WebCredentials | None = None
        self._authorized = False
        """What TD0.2 said of our authorization (a reopened DMP keeps it)."""

    def _fire(self, event: Event) -> Stage:
        before = self.stage
        self.stage = advance(before, event)
        self.history.append((before, event, self.stage))
        return self.stage

    def _patient(self) -> Ins:
        if self._ins is None:  # unreachable through the table: QUALIFIED sets it
            raise InvalidTransition(
                msg("services.enrolment.enrolment_flow_patient"), detail="no ins"
            )
        return self._ins

    async def start(self, identity: Identity, traits: VitaleTraits) -> Stage:
        """Begin with the identity service's result; TD0.2 unless the answer is known.

        Called again after a failed TD0.2 (the flow stays ``QUALIFIED``), it asks again.
        """
        if self.stage is not Stage.QUALIFIED or self._ins is None:
            advance(self.stage, Event.IDENTITY_QUALIFIED)  # raises unless at START
            try:
                self._ins = identity.ins_for_transmission()
            except InvalidInput:
                return self._fire(Event.IDENTITY_NOT_QUALIFIED)
            self._traits = traits
            self._fire(Event.IDENTITY_QUALIFIED)
        elif identity.ins != self._ins:
            raise InvalidTransition(
                msg("services.enrolment.enrolment_flow_start"),
                detail="identity changed",
            )
        known = await self._records.known(self._ins)
        if known is not None and known.exists and known.authorized:
            return self._fire(Event.KNOWN_LOCALLY)
        answer = await self._dmp.existence(self._ins)  # an error leaves us QUALIFIED
        authorized = answer.authorization is AuthorizationStatus.VALID
        self._authorized = authorized
        state = answer.dmp_state
        # A closed DMP must be asked about again next time: never "known" as usable.
        usable = authorized and state is DmpState.OPEN
        await self._records.remember(self._ins, KnownDmp(answer.exists, usable))
        if state is DmpState.OPPOSED:
            return self._fire(Event.DMP_OPPOSED)
        if state is DmpState.CLOSED:
            return self._fire(Event.DMP_CLOSED)
        if not answer.exists:
            # Informed at an earlier visit, or on the kiosk: the consent may follow now.
            self.earlier_information = await self._records.informed(self._ins)
            return self._fire(Event.DMP_ABSENT)
        if answer.authorization is AuthorizationStatus.FORBIDDEN:
            return self._fire(Event.DMP_FORBIDDEN)
        return self._fire(Event.DMP_AUTHORIZED if authorized else Event.DMP_UNAUTHORIZED)

    async def give_information(self, *, brochure: bool) -> Stage:
        """The patient was informed (and handed the brochure, or declined it): kept first."""
        advance(self.stage, Event.INFORMATION_GIVEN)  # raises before anything is kept
        given = InformationGiven(
            brochure=brochure,
            at=self._clock.now(),
            channel=self._channel,
            by=self._recorded_by,
            brochure_version=self._brochure_version,
        )
        await self._records.inform(self._patient(), given)
        self._information = given
        self.earlier_information = given
        return self._fire(Event.INFORMATION_GIVEN)

    def use_earlier_information(self) -> Stage:
        """Go on to consent on the information the record holds (not given again)."""
        advance(self.stage, Event.INFORMATION_GIVEN)
        if self.earlier_information is None:
            raise InvalidTransition(
                msg("services.enrolment.no_earlier_information"), detail="not informed"
            )
        self._information = self.earlier_information
        return self._fire(Event.INFORMATION_GIVEN)

    async def consent(
        self,
        *,
        creation: bool,
        establishment_access: bool,
        emergency_access: bool = True,
        regulation_centre_access: bool = True,
        representative: LegalRepresentative | None = None,
    ) -> Stage:
        """Record the consent; with creation, queue TD1.1 and await it when online.

        A minor's consent (either way) is given by a legal representative, recorded
        with it; without one it is refused before anything changes.
        """
        advance(self.stage, Event.CONSENT_GIVEN if creation else Event.CONSENT_REFUSED)
        representative = self._representative(representative)
        record = ConsentRecord(
            self._information,
            Consent(
                creation,
                establishment_access,
                emergency_access,
                regulation_centre_access,
                recorded_at=self._clock.now(),
                recorded_by=self._recorded_by,
                representative=representative,
            ),
        )
        if not record.allows_creation:
            return self._fire(Event.CONSENT_REFUSED)
        if self._traits is None:
            raise InvalidTransition(
                msg("services.enrolment.enrolment_flow_consent"), detail="no traits"
            )
        request = CreationRequest(self._patient(), self._traits, ConsentStatement.of(record))
        kind, key, payload = creation_item(request)
        await self._outbox.enqueue(kind, key, payload)
        self.last_key = key
        self._fire(Event.CONSENT_GIVEN)
        delivery, error = await self._outbox.deliver(key)
        if delivery is Delivery.DONE:
            fact = KnownDmp(exists=True, authorized=establishment_access)
            await self._records.remember(self._patient(), fact)
            return self._fire(Event.CREATION_DONE)
        if delivery is Delivery.PENDING:
            return self._fire(Event.CREATION_PENDING)
        self.last_error = error
        return self._fire(Event.CREATION_FAILED)

    async def authorize(
        self, *, agreed: bool, representative: LegalRepresentative | None = None
    ) -> Stage:
        """The patient gives (or refuses) our establishment's access; TD0.3 via the outbox.

        For a minor, the legal representative answers (refused without one).
        """
        self._representative(representative)
        if not agreed:
            return self._fire(Event.AUTHORIZATION_REFUSED)
        advance(self.stage, Event.AUTHORIZATION_GIVEN)
        kind, key, payload = authorization_item(self._patient(), self._structure)
        await self._outbox.enqueue(kind, key, payload)
        self.last_key = key
        delivery, error = await self._outbox.deliver(key)
        if delivery is Delivery.DEAD:
            self.last_error = error
            raise ServiceError(
                msg("services.enrolment.enrolment_flow_authorize"),
                detail=error,
            )
        if delivery is Delivery.DONE:
            # Only an acknowledged TD0.3 spares the next visit its TD0.2: a pending one
            # may still end in dead letters, and the DMP would then not know us.
            await self._records.remember(self._patient(), KnownDmp(exists=True, authorized=True))
        return self._fire(Event.AUTHORIZATION_GIVEN)

    @property
    def minor(self) -> bool:
        """Whether the patient is under 18 today (the card's birth date, the site's calendar)."""
        return self._traits is not None and is_minor(self._traits.birth_date, self._today())

    def _today(self) -> date:
        return self._clock.now().astimezone().date()  # the site's calendar, not UTC's

    def _representative(self, given: LegalRepresentative | None) -> LegalRepresentative | None:
        if self._traits is None:
            return given
        return require_representative(self._traits.birth_date, self._today(), given)

    async def reactivate(self) -> Stage:
        """TD1.2 at the patient's request (the caller checked they are here); then our access."""
        event = Event.REACTIVATED_AUTHORIZED if self._authorized else Event.REACTIVATED
        advance(self.stage, event)
        await self._write(*reactivation_item(self._patient(), self._clock.now()))
        await self._records.remember(self._patient(), KnownDmp(True, self._authorized))
        return self._fire(event)

    async def close(self, reason: str) -> Stage:
        """TD1.4 at the patient's request, with their reason (the caller checked they are here)."""
        advance(self.stage, Event.CLOSED_ON_REQUEST)
        if not reason.strip():
            raise InvalidInput(msg("services.enrolment.closure_reason"), detail="no reason")
        await self._write(*closure_item(self._patient(), reason.strip(), self._clock.now()))
        await self._records.remember(self._patient(), KnownDmp(exists=True, authorized=False))
        return self._fire(Event.CLOSED_ON_REQUEST)

    async def _write(self, kind: str, key: str, payload: bytes) -> None:
        """Queue a write the patient waits for and send it now; dead letters are said."""
        await self._outbox.enqueue(kind, key, payload)
        self.last_key = key
        delivery, error = await self._outbox.deliver(key)
        if delivery is Delivery.DEAD:
            self.last_error = error
            raise ServiceError(msg("services.enrolment.lifecycle_refused"), detail=error)

    async def open_web_account(self, *, mobile: str = "", email: str = "") -> Stage:
        """TD1.5 on the patient's request; the credentials stay in memory until wiped."""
        advance(self.stage, Event.WEB_ACCOUNT_OPENED)
        request = WebAccountRequest(self._patient(), mobile=mobile, email=email)
        self._credentials = await self._dmp.open_web_account(request)
        return self._fire(Event.WEB_ACCOUNT_OPENED)

    async def print_credentials(self) -> None:
        """Print the credentials, on request; may be called again to reprint."""
        if self._credentials is None:
            raise InvalidTransition(
                msg("services.enrolment.enrolment_flow_print_credentials"),
                detail=f"stage={self.stage.value}",
            )
        await self._printer.print_credentials(self._credentials)

    def finish(self) -> Stage:
        """End the admission."""
        return self._fire(Event.FINISH)

    def wipe(self) -> None:
        """Forget the credentials and the patient (session end, card pulled, timeout)."""
        self._credentials = None
        self._traits = None
        self._information = None
        self.earlier_information = None
