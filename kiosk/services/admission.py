"""One patient's admission at the desk: the identity check, then the enrolment, each step audited.

The TUI drives an :class:`Admission` one call per screen (STYLE.md §6); the rules
stay in the two flows it joins: :class:`~kiosk.services.identity.IdentityFlow` (Vitale
→ INSi → Data Matrix → document → stored identity) and
:class:`~kiosk.services.enrolment.EnrolmentFlow` (DMP status → information →
consent → creation or authorization → web account → receipt). The enrolment flow is
made only once the identity is stored qualified: nothing of an unqualified identity
reaches the DMP, and the reason is shown (:class:`IdentityNotQualified`).

Every action the agent takes writes its audit line, after the change it records has
committed (the consent rides in the outbox row of its TD1.1, whose own line commits
with it; the identity in the record store, a file of its own). A line says what and
who, and names the patient by INS only, which the audit masks.

:meth:`Admission.wipe` drops the card data, both flows and the credentials: the
admission object then holds nothing personal (the wipe tests search for it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from kiosk.clock import Clock
from kiosk.dmp.transactions import VitaleTraits
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.domain.consent import InformationGiven
from kiosk.domain.datamatrix import InsDataMatrix, parse_payload
from kiosk.domain.ins import IdentityNotQualified, IdentityStatus, Ins
from kiosk.domain.minors import LegalRepresentative
from kiosk.domain.vitale import Beneficiary, VitaleCardData
from kiosk.errors import InvalidInput
from kiosk.insi.results import InsiTraits
from kiosk.locale import Words, msg
from kiosk.records.record import IdentityRecord
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.identity import IdentityCheck, IdentityFlow, PatientAbsent
from kiosk.services.stages import Stage

__all__ = [
    "CONSENT_CHOICES",
    "Admission",
    "AdmissionSummary",
    "Agent",
    "AuditTrail",
    "QueuePosition",
]


class AuditTrail(Protocol):
    """Where audit lines go (``kiosk.outbox.store.OutboxStore.record``)."""

    async def record(self, event: AuditEvent) -> None:
        """Append one line to the hash chain."""
        ...


class QueuePosition(Protocol):
    """Where a queued write stands (``kiosk.outbox.store.OutboxStore.position``)."""

    async def position(self, idempotency_key: str) -> int | None:
        """1 = next to send; None when sent, dead or unknown."""
        ...


@dataclass(frozen=True)
class Agent:
    """Who acts, for the audit lines and the consent record."""

    national_id: str
    mode: str


CONSENT_CHOICES = (
    "creation",
    "establishment_access",
    "emergency_access",
    "regulation_centre_access",
)
"""The consent's authorizations, in the order the agent records them."""

_REASON_MAX = 200
"""A closure reason is kept whole in the DMP; its audit line keeps this many characters."""


@dataclass(frozen=True)
class AdmissionSummary:
    """What was done for the patient, as the summary screen says it: facts, no personal data.

    ``None`` means the step did not happen (no information given, no consent asked,
    no authorization asked); ``consent`` pairs each of :data:`CONSENT_CHOICES` with
    the patient's answer.
    """

    qualified: bool
    brochure: bool | None
    consent: tuple[tuple[str, bool], ...] | None
    authorization: bool | None
    creation: Stage | None
    """What the consent's creation came to (created, deferred, failed, refused), or None."""
    stage: Stage | None
    web_account: str
    """``mobile`` or ``email`` (where the one-time codes go), or empty: none opened."""
    printed: bool
    last_error: str


class Admission:
    """One patient's admission, from the Vitale card in ``reader`` to the receipt."""

    def __init__(
        self,
        *,
        reader: str,
        identity: IdentityFlow,
        enrolment: Callable[[str, str], EnrolmentFlow],
        trail: AuditTrail,
        queue: QueuePosition,
        clock: Clock,
        agent: Agent,
    ) -> None:
        self.reader = reader
        self._identity: IdentityFlow | None = identity
        self._new_enrolment = enrolment
        self._trail = trail
        self._queue = queue
        self._clock = clock
        self._agent = agent
        self._card: VitaleCardData | None = None
        self._chosen: Beneficiary | None = None
        self._check: IdentityCheck | None = None
        self._record: IdentityRecord | None = None
        self._enrolment: EnrolmentFlow | None = None
        self._printed = False
        self._brochure: bool | None = None
        self._consent: tuple[tuple[str, bool], ...] | None = None
        self._authorization: bool | None = None
        self._creation: Stage | None = None
        self._web_channel = ""
        self._representative: LegalRepresentative | None = None
        self._reading: asyncio.Future[VitaleCardData] | None = None
        """The card read :meth:`start_reading` began, until :meth:`read_card` takes it."""

    def __repr__(self) -> str:
        stage = self._enrolment.stage.value if self._enrolment else "identity"
        return f"Admission(reader={self.reader!r}, stage={stage})"

    # -- identity -------------------------------------------------------------

    def start_reading(self) -> None:
        """Begin reading the card now, while the beneficiaries screen is being drawn.

        The read waits on the card (a dozen APDUs, each a hop to the PC/SC thread) and
        the screen on the event loop: begun together, the rows come one step sooner.
        """
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._flow().read_card())

    async def read_card(self) -> tuple[Beneficiary, ...]:
        """Read the Vitale card (or take the read begun): its beneficiaries, in card order."""
        reading, self._reading = self._reading, None
        self._card = await (reading if reading is not None else self._flow().read_card())
        self._chosen = self._check = self._record = None
        return self._card.beneficiaries

    def choose(self, index: int) -> Beneficiary:
        """The beneficiary the agent picked."""
        self._chosen = self._flow().choose(index)
        self._check = None
        return self._chosen

    async def search_identity(self, traits: InsiTraits | None = None) -> IdentityCheck:
        """INSi by the card (or by ``traits`` to refine); several identities are never picked."""
        self._check = await self._flow().query_insi(traits)
        return self._check

    def scan(self, payload: str | bytes) -> InsDataMatrix:
        """A scanned INS Data Matrix, parsed and held against INSi's identity."""
        scanned = parse_payload(payload)
        self._flow().check_datamatrix(scanned)
        return scanned

    def confirm_document(self) -> None:
        """The agent checked a high-trust identity document against INSi's traits."""
        self._flow().confirm_document()

    def withdraw_document(self) -> None:
        """The agent unticked the document check (ticked by mistake): it no longer counts."""
        self._flow().withdraw_document()

    @property
    def chosen(self) -> Beneficiary | None:
        """The beneficiary picked on the card, for the screens that compare it with INSi."""
        return self._chosen

    async def qualify(self) -> IdentityRecord:
        """Store the identity with the status its checks earned; only a qualified one goes on."""
        record = await self._flow().store()
        self._record = record
        status = record.identity.status
        await self._audit(
            AuditKind.IDENTITY_VERIFIED,
            {"status": status.value, "sources": ",".join(sorted(s.value for s in record.sources))},
        )
        if status is not IdentityStatus.QUAL:
            raise IdentityNotQualified(
                msg(
                    "services.admission.not_qualified",
                    status=Words(status.label_fr.lower(), status.label_en.lower()),
                ),
                detail=f"status={status.value}",
            )
        return record

    # -- enrolment ------------------------------------------------------------

    async def dmp_status(self) -> Stage:
        """Does the patient have a DMP, and may we reach it? (TD0.2 or the local record)."""
        record, chosen = self._qualified()
        if self._enrolment is None:
            self._enrolment = self._new_enrolment(chosen.given_name, chosen.family_name)
        enrolment = self._enrolment
        traits = VitaleTraits(
            chosen.family_name,
            chosen.given_name,
            chosen.birth_date,
            chosen.birth_rank or 1,
            record.identity.traits.sex.value,
        )
        return await enrolment.start(record.identity, traits)

    async def give_information(self, *, brochure: bool) -> Stage:
        """The patient was told what the DMP is and their rights (brochure handed or declined).

        Kept in the patient's record (when, by whom, how, which leaflet), apart from the
        consent that may follow at another visit.
        """
        enrolment = self._enrolled()
        stage = await enrolment.give_information(brochure=brochure)
        self._brochure = brochure
        given = enrolment.earlier_information
        details = {"brochure": _yes(brochure)}
        if given is not None:
            details |= {"channel": given.channel.value, "version": given.brochure_version}
        await self._audit(AuditKind.INFORMATION_GIVEN, details)
        return stage

    @property
    def earlier_information(self) -> InformationGiven | None:
        """Information the record holds from an earlier visit or the kiosk, or None."""
        return None if self._enrolment is None else self._enrolment.earlier_information

    async def use_earlier_information(self) -> Stage:
        """Go on to consent on the recorded information (the agent checked it with the patient)."""
        enrolment = self._enrolled()
        stage = enrolment.use_earlier_information()
        given = enrolment.earlier_information
        assert given is not None  # use_earlier_information refuses otherwise
        self._brochure = given.brochure
        await self._audit(
            AuditKind.INFORMATION_GIVEN,
            {
                "brochure": _yes(given.brochure),
                "channel": given.channel.value,
                "version": given.brochure_version,
                "earlier": given.at.date().isoformat(),
            },
        )
        return stage

    async def consent(
        self,
        *,
        creation: bool,
        establishment_access: bool,
        emergency_access: bool,
        regulation_centre_access: bool,
        representative: LegalRepresentative | None = None,
    ) -> Stage:
        """Record the consent; with creation, TD1.1 is queued and awaited while online.

        A minor's consent is given by ``representative`` (refused without one); who they
        are and in what capacity goes into the consent's audit line.
        """
        enrolment = self._enrolled()
        details = {
            "creation": _yes(creation),
            "establishment_access": _yes(establishment_access),
            "emergency_access": _yes(emergency_access),
            "regulation_centre_access": _yes(regulation_centre_access),
            **_representative_details(representative),
        }
        stage = await enrolment.consent(
            creation=creation,
            establishment_access=establishment_access,
            emergency_access=emergency_access,
            regulation_centre_access=regulation_centre_access,
            representative=representative,
        )
        self._representative = representative
        choices = (creation, establishment_access, emergency_access, regulation_centre_access)
        self._consent = tuple(zip(CONSENT_CHOICES, choices, strict=True))
        self._creation = stage
        if stage is Stage.CONSENT_REFUSED:
            await self._audit(AuditKind.CONSENT_REFUSED, details)
            return stage
        await self._audit(AuditKind.CONSENT_GIVEN, details)
        await self._audit(AuditKind.DMP_CREATION_QUEUED, {"key": enrolment.last_key})
        if stage is Stage.CREATED:
            await self._audit(AuditKind.DMP_CREATED, {"key": enrolment.last_key})
        return stage

    async def queue_position(self) -> int | None:
        """Where the deferred creation stands in the outbox (1 = next), or None."""
        enrolment = self._enrolled()
        return await self._queue.position(enrolment.last_key) if enrolment.last_key else None

    async def authorize(
        self, *, agreed: bool, representative: LegalRepresentative | None = None
    ) -> Stage:
        """The patient gives (or refuses) this establishment's access to their existing DMP.

        For a minor, ``representative`` answers (refused without one), as for consent.
        """
        stage = await self._enrolled().authorize(agreed=agreed, representative=representative)
        self._authorization = agreed
        self._representative = representative
        kind = AuditKind.AUTHORIZATION_GIVEN if agreed else AuditKind.AUTHORIZATION_REFUSED
        await self._audit(kind, _representative_details(representative))
        return stage

    @property
    def minor(self) -> bool:
        """Whether the patient is under 18: a legal representative consents for them."""
        return self._enrolment is not None and self._enrolment.minor

    @property
    def representative(self) -> LegalRepresentative | None:
        """Who consented for the patient, once they did."""
        return self._representative

    async def reactivate(self) -> Stage:
        """TD1.2, asked by the patient in person: their card must be in the reader."""
        enrolment = self._enrolled()
        await self._present("reactivation")
        stage = await enrolment.reactivate()
        await self._audit(AuditKind.DMP_REACTIVATED, {"key": enrolment.last_key})
        return stage

    async def close(self, reason: str) -> Stage:
        """TD1.4, asked by the patient in person, with their reason (kept in the audit line)."""
        enrolment = self._enrolled()
        await self._present("closure")
        stage = await enrolment.close(reason)
        details = {"reason": reason.strip()[:_REASON_MAX], "key": enrolment.last_key}
        await self._audit(AuditKind.DMP_CLOSED, details)
        return stage

    async def _present(self, action: str) -> None:
        """The patient's Vitale card is in the reader, else refused (and audited) untouched."""
        try:
            await self._flow().confirm_present()
        except PatientAbsent:
            await self._audit(AuditKind.DMP_REFUSED_ABSENT, {"action": action})
            raise

    async def open_web_account(self, *, mobile: str = "", email: str = "") -> Stage:
        """TD1.5 on the patient's request; the one-time codes go to ``mobile`` or ``email``."""
        stage = await self._enrolled().open_web_account(mobile=mobile.strip(), email=email.strip())
        self._web_channel = "mobile" if mobile.strip() else "email"
        details = {"channel": self._web_channel}
        if self._representative is not None and self.minor:  # the contact is theirs
            details["to"] = "representative"
        await self._audit(AuditKind.WEB_ACCOUNT_OPENED, details)
        return stage

    async def print_credentials(self) -> None:
        """Print the connection details (only on request); again for a reprint."""
        await self._enrolled().print_credentials()
        kind = AuditKind.RECEIPT_REPRINTED if self._printed else AuditKind.RECEIPT_PRINTED
        self._printed = True
        await self._audit(kind, {})

    def finish(self) -> Stage:
        """End the admission; a deferred creation stays queued."""
        return self._enrolled().finish()

    @property
    def stage(self) -> Stage | None:
        """Where the enrolment stands, once started."""
        return None if self._enrolment is None else self._enrolment.stage

    @property
    def last_error(self) -> str:
        """The code of the last DMP failure (a creation gone to dead letters)."""
        return "" if self._enrolment is None else self._enrolment.last_error

    @property
    def printed(self) -> bool:
        """Whether the credentials were printed at least once."""
        return self._printed

    @property
    def patient(self) -> Ins | None:
        """The patient's qualified INS, once the identity is qualified; None before or wiped."""
        record = self._record
        if record is None or record.identity.status is not IdentityStatus.QUAL:
            return None
        return record.identity.ins

    @property
    def patient_name(self) -> str:
        """The chosen beneficiary as the agent saw them ("Given FAMILY"); empty once wiped."""
        chosen = self._chosen
        return "" if chosen is None else f"{chosen.given_name} {chosen.family_name}"

    def summary(self) -> AdmissionSummary:
        """What was done so far, step by step (the summary screen's one source)."""
        record = self._record
        return AdmissionSummary(
            qualified=record is not None and record.identity.status is IdentityStatus.QUAL,
            brochure=self._brochure,
            consent=self._consent,
            authorization=self._authorization,
            creation=self._creation,
            stage=self.stage,
            web_account=self._web_channel,
            printed=self._printed,
            last_error=self.last_error,
        )

    def wipe(self) -> None:
        """Forget the patient: card data, choice, checks, both flows and the credentials."""
        reading, self._reading = self._reading, None
        if reading is not None:
            if reading.done() and not reading.cancelled():
                reading.exception()  # a read that failed unseen: retrieved, not reported
            reading.cancel()
        if self._enrolment is not None:
            self._enrolment.wipe()
        self._identity = None
        self._enrolment = None
        self._card = self._chosen = self._check = self._record = None
        self._representative = None

    # -- helpers --------------------------------------------------------------

    def _flow(self) -> IdentityFlow:
        if self._identity is None:
            raise _wiped()
        return self._identity

    def _qualified(self) -> tuple[IdentityRecord, Beneficiary]:
        record, chosen = self._record, self._chosen
        if record is None or chosen is None or record.identity.status is not IdentityStatus.QUAL:
            raise IdentityNotQualified(
                msg("services.admission.qualify_first"), detail="no qualified identity"
            )
        return record, chosen

    def _enrolled(self) -> EnrolmentFlow:
        if self._enrolment is None:
            raise IdentityNotQualified(
                msg("services.admission.qualify_first"), detail="no enrolment"
            )
        return self._enrolment

    def _patient(self) -> str:
        record = self._record
        ins = None if record is None else record.identity.ins
        return "" if ins is None else ins.matricule.value

    async def _audit(self, kind: AuditKind, details: Mapping[str, str]) -> None:
        event = AuditEvent(
            self._clock.now(),
            kind,
            actor=self._agent.national_id,
            subject=self._patient(),
            details={"mode": self._agent.mode, **details},
        )
        # The change is committed; its line must not be lost to a cancelled screen.
        await asyncio.shield(self._trail.record(event))


def _representative_details(representative: LegalRepresentative | None) -> dict[str, str]:
    """The representative in an audit line: quality and name (the patient stays an INS)."""
    if representative is None:
        return {}
    return {
        "representative": representative.quality.value,
        "representative_name": representative.display_name,
    }


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _wiped() -> InvalidInput:
    return InvalidInput(msg("services.admission.wiped"), detail="admission wiped")
