"""The identity check of an admission: Vitale beneficiary → INSi → cross-checks → local record.

The homologation rules of DOMAIN.md §4, each enforced here and tested:

* order: the Vitale card is read, a beneficiary chosen, INSi called, the checks made,
  and only then the identity stored; any other order is refused (:class:`FlowOrder`);
* a Vitale read older than 20 minutes (injected clock) forces a re-read
  (:class:`VitaleTooOld`), and the flow restarts;
* the card is read again before INSi and before storing: another serial, or the chosen
  beneficiary no longer on it, is a swapped card (:class:`CardSwapped`), and the flow
  restarts;
* test, demo and production OIDs are never mixed (``check_oid_allowed``);
* several identities from INSi are returned for the agent to refine, never picked;
* only a qualified identity gives its INS to the DMP or a Data Matrix
  (``Identity.ins_for_transmission``).

Decisions where the references are silent (README "Identity"): the Vitale card carries
only name, one given name and birth date, so those three are compared with INSi; a
difference is shown trait by trait and blocks storing until the agent has checked a
high-trust document, which then arbitrates (the card is not an identity document,
DOMAIN.md §2). A scanned INS Data Matrix that differs from INSi in its INS or in any
strict trait is refused with the traits that differ: it is data to verify, not proof
(DOMAIN.md §3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from kiosk.clock import Clock
from kiosk.domain.datamatrix import InsDataMatrix
from kiosk.domain.ins import (
    Identity,
    IdentityStatus,
    Ins,
    InsEnvironment,
    StrictTraits,
    Trait,
    TraitDifference,
    check_oid_allowed,
    compare_traits,
    keeps_qualification,
    normalise_name,
    status_from,
)
from kiosk.domain.vitale import Beneficiary, VitaleCardData
from kiosk.errors import CardError, IdentityError
from kiosk.insi.protocol import ResultCode
from kiosk.insi.results import InsiIdentity, InsiResult, InsiTraits, parse_birth_date
from kiosk.locale import Message, Words, msg
from kiosk.records.record import IdentityRecord, Source

__all__ = [
    "MAX_VITALE_AGE",
    "CardSwapped",
    "DataMatrixMismatch",
    "FlowOrder",
    "IdentityCheck",
    "IdentityFlow",
    "IdentityStore",
    "InsiPort",
    "MemoryIdentityStore",
    "PatientAbsent",
    "TraitsMismatch",
    "VitaleTooOld",
]

MAX_VITALE_AGE = timedelta(minutes=20)
"""DOMAIN.md §4: re-read the card when its data is older than this."""


class FlowOrder(IdentityError):
    """A step asked before the steps it depends on."""

    code = "IDENTITY_ORDER"


class VitaleTooOld(IdentityError):
    """The Vitale data is older than 20 minutes: read the card again."""

    code = "IDENTITY_VITALE_STALE"


class CardSwapped(IdentityError):
    """The card in the reader is not the one the beneficiary was chosen on."""

    code = "IDENTITY_CARD_SWAPPED"


class PatientAbsent(IdentityError):
    """The patient's Vitale card is not in the reader: what needs them in person waits.

    Reactivating or closing a DMP is the patient's own decision (seed 001: « il décide
    de sa création et de sa fermeture »); the desk does it only with them at the desk,
    and their card in the reader is how it knows.
    """

    code = "PATIENT_ABSENT"


class TraitsMismatch(IdentityError):
    """Sources disagree on strict traits; ``differences`` says which (no values)."""

    code = "IDENTITY_TRAITS_MISMATCH"

    def __init__(
        self,
        source: Message,
        differences: tuple[TraitDifference, ...],
        *,
        ins_differs: bool = False,
    ) -> None:
        whys = [msg("services.identity.different_ins")] * ins_differs + [d.why for d in differences]
        fr, en = ("; ".join(why.text(lang) for why in whys) for lang in ("fr", "en"))
        super().__init__(
            msg("services.identity.traits_differ", source=source, differences=Words(fr, en)),
            detail=",".join(["ins"] * ins_differs + [d.trait.value for d in differences]),
        )
        self.differences = differences
        self.ins_differs = ins_differs


class DataMatrixMismatch(TraitsMismatch):
    """A scanned INS Data Matrix of another person (or another INS): refused."""

    code = "IDENTITY_DATAMATRIX_MISMATCH"


class InsiPort(Protocol):
    """What the flow needs of INSi (``kiosk.insi.client.InsiClient`` provides it)."""

    async def search_with_vitale(
        self, *, insured_nir: str, birth_date: str, birth_rank: int | None
    ) -> InsiResult:
        """Search by the beneficiary the card designates."""
        ...

    async def search_with_traits(self, traits: InsiTraits) -> InsiResult:
        """Search by strict traits."""
        ...


class IdentityStore(Protocol):
    """Where identity records are kept (``kiosk.records.RecordStore`` on disk)."""

    async def save(self, record: IdentityRecord) -> None:
        """Keep ``record`` for its INS; a lower status may be logged without replacing."""
        ...

    async def current(self, ins: Ins) -> IdentityRecord | None:
        """The record kept for ``ins`` (an earlier visit's), or None."""
        ...


@dataclass
class MemoryIdentityStore:
    """An in-memory store (demo, tests); keyed by INS matricule."""

    records: dict[str, IdentityRecord] = field(default_factory=dict)

    async def save(self, record: IdentityRecord) -> None:
        ins = record.identity.ins
        assert ins is not None  # the flow stores only identities INSi gave an INS
        self.records[ins.matricule.value] = record

    async def current(self, ins: Ins) -> IdentityRecord | None:
        return self.records.get(ins.matricule.value)


@dataclass(frozen=True, repr=False)
class IdentityCheck:
    """What INSi said about the chosen beneficiary, and how the card compares."""

    code: ResultCode
    identity: Identity | None
    card_differences: tuple[TraitDifference, ...] = ()
    given_names_tried: tuple[str, ...] = ()

    @property
    def must_refine(self) -> bool:
        """Several identities: the agent refines the search (birth place…), nothing is picked."""
        return self.code is ResultCode.SEVERAL

    def __repr__(self) -> str:
        return f"IdentityCheck(code={self.code.value}, differences={len(self.card_differences)})"


class _Step(StrEnum):
    IDLE = "idle"
    CARD_READ = "card_read"
    CHOSEN = "chosen"
    INSI_DONE = "insi_done"
    STORED = "stored"


def _order(wanted: Message) -> FlowOrder:
    return FlowOrder(msg("services.identity.out_of_order", wanted=wanted), detail=wanted.text("en"))


def _domain_identity(found: InsiIdentity) -> tuple[Ins, StrictTraits, tuple[Ins, ...]]:
    traits = found.traits
    try:
        born = date.fromisoformat(traits.birth_date)
    except ValueError as exc:
        raise IdentityError(
            msg("services.identity.domain_identity"),
            detail="partial birth date",
        ) from exc
    strict = StrictTraits.create(
        traits.family_name, traits.given_names, born, traits.sex, traits.birth_place or ""
    )
    history = tuple(Ins.of(h.matricule, h.oid) for h in found.history)
    return Ins.of(found.ins.matricule, found.ins.oid), strict, history


def _card_differences(card: Beneficiary, insi: StrictTraits) -> tuple[TraitDifference, ...]:
    # A card has one given name, the usage or birth name, and a birth date (DOMAIN.md §5).
    out: list[TraitDifference] = []
    if normalise_name(card.family_name) != insi.birth_family_name:
        out.append(
            TraitDifference(
                Trait.BIRTH_FAMILY_NAME,
                msg("services.identity.card_differences"),
            )
        )
    if normalise_name(card.given_name).split(" ")[0] not in insi.birth_given_names:
        out.append(
            TraitDifference(
                Trait.BIRTH_GIVEN_NAMES,
                msg("services.identity.card_differences_2"),
            )
        )
    if parse_birth_date(card.birth_date) != insi.birth_date.isoformat():
        out.append(
            TraitDifference(
                Trait.BIRTH_DATE,
                msg("services.identity.card_differences_3"),
            )
        )
    return tuple(out)


class IdentityFlow:
    """One admission's identity check, step by step, with the homologation rules."""

    def __init__(
        self,
        *,
        read_card: Callable[[], Awaitable[VitaleCardData]],
        insi: InsiPort,
        store: IdentityStore,
        clock: Clock,
        environment: InsEnvironment,
        max_card_age: timedelta = MAX_VITALE_AGE,
    ) -> None:
        self._read = read_card
        self._insi = insi
        self._store = store
        self._clock = clock
        self._environment = environment
        self._max_age = max_card_age
        self._restart()

    def _restart(self) -> None:
        self._step = _Step.IDLE
        self._card: VitaleCardData | None = None
        self._read_at: datetime | None = None
        self._chosen: Beneficiary | None = None
        self._found: tuple[Ins, StrictTraits, tuple[Ins, ...]] | None = None
        self._card_diffs: tuple[TraitDifference, ...] = ()
        self._sources: set[Source] = set()

    @property
    def step(self) -> str:
        """Where the flow stands: idle, card_read, chosen, insi_done or stored."""
        return self._step.value

    async def read_card(self) -> VitaleCardData:
        """Step 1: read the Vitale card; starts a new check."""
        card = await self._read()
        self._restart()
        self._card, self._read_at, self._step = card, self._clock.now(), _Step.CARD_READ
        return card

    def choose(self, index: int) -> Beneficiary:
        """Step 2: the beneficiary the agent picked on the card."""
        if self._card is None:
            raise _order(msg("services.identity.identity_flow_choose_2"))
        if not 0 <= index < len(self._card.beneficiaries):
            raise IdentityError(
                msg("services.identity.identity_flow_choose"),
                detail=f"index {index} of {len(self._card.beneficiaries)}",
            )
        self._chosen = self._card.beneficiaries[index]
        self._found, self._card_diffs, self._sources = None, (), {Source.VITALE}
        self._step = _Step.CHOSEN
        return self._chosen

    async def _check_card_unchanged(self) -> Beneficiary:
        if self._chosen is None or self._card is None or self._read_at is None:
            raise _order(msg("services.identity.identity_flow_check_card_unchanged_3"))
        if self._clock.now() - self._read_at > self._max_age:
            self._restart()
            raise VitaleTooOld(
                msg("services.identity.identity_flow_check_card_unchanged"),
                detail="vitale older than 20 min",
            )
        current = await self._read()
        if current.serial != self._card.serial or self._chosen not in current.beneficiaries:
            self._restart()
            raise CardSwapped(
                msg("services.identity.identity_flow_check_card_unchanged_2"),
                detail="serial or beneficiary changed",
            )
        return self._chosen

    async def confirm_present(self) -> Beneficiary:
        """The chosen beneficiary's card is in the reader now, or :class:`PatientAbsent`."""
        if self._chosen is None or self._card is None:
            raise PatientAbsent(msg("services.identity.patient_absent"), detail="no card read")
        try:
            current = await self._read()
        except CardError as exc:
            raise PatientAbsent(msg("services.identity.patient_absent"), detail=exc.code) from exc
        if current.serial != self._card.serial or self._chosen not in current.beneficiaries:
            raise PatientAbsent(msg("services.identity.patient_absent"), detail="another card")
        return self._chosen

    async def query_insi(self, traits: InsiTraits | None = None) -> IdentityCheck:
        """Step 3: INSi by the card's data, or by ``traits`` to refine; nothing is picked."""
        chosen = await self._check_card_unchanged()
        if traits is None:
            result = await self._insi.search_with_vitale(
                insured_nir=chosen.insured_nir,
                birth_date=parse_birth_date(chosen.birth_date),
                birth_rank=chosen.birth_rank,
            )
        else:
            result = await self._insi.search_with_traits(traits)
        if result.identity is None or result.code is not ResultCode.ONE:
            self._found, self._step = None, _Step.CHOSEN
            return IdentityCheck(result.code, None, (), result.given_names_tried)
        check_oid_allowed(result.identity.ins.oid, self._environment)
        ins, strict, history = _domain_identity(result.identity)
        self._found = (ins, strict, history)
        self._card_diffs = _card_differences(chosen, strict)
        self._sources = {Source.VITALE, Source.INSI}
        self._step = _Step.INSI_DONE
        identity = Identity(ins, strict, IdentityStatus.RECUP)
        return IdentityCheck(result.code, identity, self._card_diffs, result.given_names_tried)

    def _need_insi(self) -> tuple[Ins, StrictTraits, tuple[Ins, ...]]:
        # STORED too: an identity kept "récupérée" is qualified once a document is checked.
        if self._step not in (_Step.INSI_DONE, _Step.STORED) or self._found is None:
            raise _order(msg("services.identity.identity_flow_need_insi"))
        return self._found

    def check_datamatrix(self, scanned: InsDataMatrix) -> None:
        """Step 4a: a scanned INS Data Matrix must carry the same INS and strict traits."""
        ins, strict, _ = self._need_insi()
        check_oid_allowed(scanned.ins.oid, self._environment)
        differences = tuple(compare_traits(strict, scanned.traits))
        ins_differs = (scanned.ins.matricule.value, scanned.ins.oid) != (
            ins.matricule.value,
            ins.oid,
        )
        if differences or ins_differs:
            raise DataMatrixMismatch(
                msg("services.identity.source_datamatrix"), differences, ins_differs=ins_differs
            )
        self._sources.add(Source.DATAMATRIX)

    def confirm_document(self) -> None:
        """Step 4b: the agent checked a high-trust identity document against INSi's traits."""
        self._need_insi()
        self._sources.add(Source.DOCUMENT)

    def withdraw_document(self) -> None:
        """Step 4b undone: the document check no longer counts towards the status."""
        self._sources.discard(Source.DOCUMENT)

    async def store(
        self, *, ipp: str | None = None, doubtful: bool = False, fictitious: bool = False
    ) -> IdentityRecord:
        """Step 5: keep the identity with the status its checks earned."""
        ins, strict, history = self._need_insi()
        await self._check_card_unchanged()
        if self._card_diffs and Source.DOCUMENT not in self._sources:
            raise TraitsMismatch(msg("services.identity.source_vitale"), self._card_diffs)
        status = status_from(
            insi_confirmed=True,
            high_trust_document_checked=Source.DOCUMENT in self._sources,
            doubtful=doubtful,
            fictitious=fictitious,
        )
        sources = frozenset(self._sources)
        if status is IdentityStatus.RECUP and not self._card_diffs:
            earlier = await self._store.current(ins)
            if earlier is not None and keeps_qualification(
                earlier.identity, Identity(ins, strict, status)
            ):
                status, sources = IdentityStatus.QUAL, sources | {Source.EARLIER}
        now = self._clock.now()
        record = IdentityRecord(
            identity=Identity(ins, strict, status),
            sources=sources,
            history=history,
            created_at=self._read_at or now,
            checked_at=now,
            ipp=ipp,
        )
        await self._store.save(record)
        self._step = _Step.STORED
        return record
