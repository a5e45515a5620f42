"""The INS: matricule + OID, the five strict traits, RNIV statuses, trait comparison.

DOMAIN.md §2. The INS is the only identifier that may be exchanged with the DMP, and
only for a *qualified* identity (RNIV). Names are compared and transmitted in their
normalised form: upper case, no diacritics, hyphen, apostrophe and single spaces kept.
Every value holding personal data redacts itself in ``repr``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kiosk.domain.nir import Nir, NirKind
from kiosk.errors import IdentityError
from kiosk.locale import LANGUAGES as LANGS
from kiosk.locale import Message, Words, msg, text

__all__ = [
    "KNOWN_OIDS",
    "OID_INS_NIA",
    "OID_INS_NIR",
    "OID_INS_NIR_DEMO",
    "OID_INS_NIR_TEST",
    "Identity",
    "IdentityNotQualified",
    "IdentityStatus",
    "Ins",
    "InsEnvironment",
    "Sex",
    "StrictTraits",
    "Trait",
    "TraitDifference",
    "check_birth_place",
    "check_oid_allowed",
    "compare_traits",
    "keeps_qualification",
    "normalise_name",
    "status_from",
]

OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_INS_NIR_TEST = "1.2.250.1.213.1.4.10"
# DOMAIN.md §2 marks the demo OID "(verify)" against the Guide d'implémentation INS.
OID_INS_NIR_DEMO = "1.2.250.1.213.1.4.11"
KNOWN_OIDS = frozenset({OID_INS_NIR, OID_INS_NIA, OID_INS_NIR_TEST, OID_INS_NIR_DEMO})


class InsEnvironment(StrEnum):
    """Which INS authorities a configuration accepts: fictitious test ones or real ones."""

    TEST = "test"
    PRODUCTION = "production"


_ALLOWED_OIDS = {
    InsEnvironment.PRODUCTION: frozenset({OID_INS_NIR, OID_INS_NIA}),
    InsEnvironment.TEST: frozenset({OID_INS_NIR_TEST, OID_INS_NIR_DEMO}),
}


def check_oid_allowed(oid: str, environment: InsEnvironment) -> None:
    """Refuse an OID foreign to ``environment``: no test INS in production, and vice versa."""
    if oid not in KNOWN_OIDS:
        raise IdentityError(
            msg("domain.ins.check_oid_allowed", oid=oid),
            detail="oid_unknown",
        )
    if oid not in _ALLOWED_OIDS[environment]:
        if environment is InsEnvironment.PRODUCTION:
            raise IdentityError(
                msg("domain.ins.check_oid_allowed_3"),
                detail="oid_test_in_production",
            )
        raise IdentityError(
            msg("domain.ins.check_oid_allowed_2"),
            detail="oid_production_in_test",
        )


class IdentityNotQualified(IdentityError):
    """The INS of an identity that is not qualified may not be used (RNIV)."""

    code = "IDENTITY_NOT_QUALIFIED"


@dataclass(frozen=True, repr=False)
class Ins:
    """An INS: a checked matricule (NIR or NIA) and the OID of its authority."""

    matricule: Nir
    oid: str

    def __post_init__(self) -> None:
        if self.oid not in KNOWN_OIDS:
            raise IdentityError(
                msg("domain.ins.ins_post_init", oid=self.oid),
                detail="oid_unknown",
            )

    @classmethod
    def of(cls, matricule: str, oid: str) -> Ins:
        """Parse ``matricule`` (a NIA when ``oid`` is the INS-NIA authority) and pair it."""
        if oid not in KNOWN_OIDS:
            raise IdentityError(
                msg("domain.ins.ins_of", oid=oid),
                detail="oid_unknown",
            )
        hint = NirKind.NIA if oid == OID_INS_NIA else None
        return cls(Nir.parse(matricule, kind_hint=hint), oid)

    @property
    def environment(self) -> InsEnvironment:
        """The environment this INS belongs to (test/demo OIDs are TEST)."""
        if self.oid in _ALLOWED_OIDS[InsEnvironment.TEST]:
            return InsEnvironment.TEST
        return InsEnvironment.PRODUCTION

    def hl7_cx(self) -> str:
        """The INS as an HL7 CX value, ``INS^^^&OID&ISO^NH`` (VIHF resource id, DOMAIN.md §6)."""
        return f"{self.matricule.value}^^^&{self.oid}&ISO^NH"

    def __str__(self) -> str:
        return f"{self.matricule.masked()} ({self.oid})"

    def __repr__(self) -> str:
        return f"Ins({self.matricule.masked()!r}, oid={self.oid!r})"


class Sex(StrEnum):
    """Sex as a strict INS trait."""

    F = "F"
    M = "M"


# Ligatures do not decompose under NFD; DOMAIN.md §2 wants them spelt out.
_LIGATURES = str.maketrans({"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE"})
# Typographic apostrophes and hyphens typed or pasted become the plain ones.
_PUNCTUATION = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "‐": "-", "‑": "-"})
_NAME_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_ALLOWED = _NAME_LETTERS | {"-", "'", " "}
_ALREADY_NORMAL = re.compile(r"(?=[^A-Z]*[A-Z])[A-Z'-]+(?: [A-Z'-]+)*")


def normalise_name(text: str) -> str:
    """A name as the INS spells it: upper case, no diacritics, ``-`` ``'`` and single spaces."""
    if _ALREADY_NORMAL.fullmatch(text):  # names read back from INSi or a Data Matrix
        return text
    spelt = " ".join(text.translate(_LIGATURES).translate(_PUNCTUATION).split()).upper()
    decomposed = unicodedata.normalize("NFD", spelt)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    for index, char in enumerate(stripped):
        if char not in _NAME_ALLOWED:
            shown = char if char.isprintable() else f"U+{ord(char):04X}"
            raise IdentityError(
                msg("domain.ins.normalise_name_2", shown=shown, value=index + 1),
                detail="name_character",
            )
    if not any(char in _NAME_LETTERS for char in stripped):
        raise IdentityError(
            msg("domain.ins.normalise_name"),
            detail="name_empty",
        )
    return stripped


def check_birth_place(code: str) -> str:
    """An INSEE birth place code: 5 digits, or ``2A``/``2B`` + 3 digits; returned upper case."""
    value = code.strip().upper()
    digits = value[:1] + value[2:] if value[:2] in ("2A", "2B") else value
    if len(value) != 5 or not (digits.isascii() and digits.isdigit()):
        raise IdentityError(
            msg("domain.ins.check_birth_place"),
            detail="birth_place",
        )
    return value


@dataclass(frozen=True, repr=False)
class StrictTraits:
    """The five strict traits of the INS, normalised; build with :meth:`create`."""

    birth_family_name: str
    birth_given_names: tuple[str, ...]
    birth_date: date
    sex: Sex
    birth_place: str

    @classmethod
    def create(
        cls,
        birth_family_name: str,
        birth_given_names: Sequence[str] | str,
        birth_date: date,
        sex: Sex | str,
        birth_place: str,
    ) -> StrictTraits:
        """Normalise and check the traits; given names may be a list or a spaced string.

        Given names are transmitted space-separated, so a space inside one item splits it:
        ``["MARIE ANNE"]`` and ``["MARIE", "ANNE"]`` are the same traits.
        """
        items = [birth_given_names] if isinstance(birth_given_names, str) else birth_given_names
        given = tuple(part for item in items for part in normalise_name(item).split(" "))
        if not given:
            raise IdentityError(
                msg("domain.ins.strict_traits_create"),
                detail="given_names_empty",
            )
        try:
            sex_value = Sex(sex.upper() if isinstance(sex, str) else sex)
        except ValueError as exc:
            raise IdentityError(msg("domain.ins.strict_traits_create_2"), detail="sex") from exc
        return cls(
            birth_family_name=normalise_name(birth_family_name),
            birth_given_names=given,
            birth_date=birth_date,
            sex=sex_value,
            birth_place=check_birth_place(birth_place),
        )

    @property
    def given_names_joined(self) -> str:
        """The given names as the INS transmits them, separated by single spaces."""
        return " ".join(self.birth_given_names)

    @property
    def first_given_name(self) -> str:
        """The first birth given name (INSi searches one given name at a time)."""
        return self.birth_given_names[0]

    def __repr__(self) -> str:
        return f"StrictTraits(<redacted>, {len(self.birth_given_names)} given name(s))"


class IdentityStatus(StrEnum):
    """RNIV identity status, with the codes of the FR Core FHIR profile."""

    PROV = "PROV"
    RECUP = "RECUP"
    VALI = "VALI"
    QUAL = "QUAL"

    @property
    def label_fr(self) -> str:
        """The status as the French user interface names it."""
        return text(f"domain.ins.status.{self.name.lower()}", "fr")

    @property
    def label_en(self) -> str:
        """The status as the English user interface names it."""
        return text(f"domain.ins.status.{self.name.lower()}", "en")


def status_from(
    insi_confirmed: bool,
    high_trust_document_checked: bool,
    doubtful: bool = False,
    fictitious: bool = False,
) -> IdentityStatus:
    """The RNIV status earned by the checks made; doubtful or fictitious stays provisional.

    RNIV: a doubtful or fictitious attribute is incompatible with the validated and
    qualified statuses; we keep such an identity provisional, the most cautious reading
    (site to check against the RNIV).
    """
    if doubtful or fictitious:
        return IdentityStatus.PROV
    if insi_confirmed and high_trust_document_checked:
        return IdentityStatus.QUAL
    if insi_confirmed:
        return IdentityStatus.RECUP
    if high_trust_document_checked:
        return IdentityStatus.VALI
    return IdentityStatus.PROV


def keeps_qualification(earlier: Identity, now: Identity) -> bool:
    """Whether an identity qualified at an earlier visit is still qualified now.

    RNIV: a qualified identity keeps its status in the establishment's identity
    repository; what must hold at the next visit is that it is the same one. Here:
    the earlier record was qualified (INSi and a high-trust document checked by an
    agent), and INSi, called again now, returns the same INS and the same five strict
    traits. Any change (a corrected trait, a new matricule) needs the document again.
    Most cautious reading; site to check against the RNIV.
    """
    return (
        earlier.status is IdentityStatus.QUAL
        and earlier.ins is not None
        and earlier.ins == now.ins
        and earlier.traits == now.traits
    )


@dataclass(frozen=True, repr=False)
class Identity:
    """A patient identity: its traits, its RNIV status and, when INSi gave one, its INS."""

    ins: Ins | None
    traits: StrictTraits
    status: IdentityStatus

    def __post_init__(self) -> None:
        # RECUP and QUAL both come from INSi, which always returns an INS.
        if self.ins is None and self.status in (IdentityStatus.RECUP, IdentityStatus.QUAL):
            raise IdentityError(
                msg("domain.ins.identity_post_init"),
                detail="status_without_ins",
            )

    def ins_for_transmission(self) -> Ins:
        """The INS, for the DMP, a document or a Data Matrix; only for a qualified identity."""
        if self.status is not IdentityStatus.QUAL or self.ins is None:
            status = Words(self.status.label_fr.lower(), self.status.label_en.lower())
            raise IdentityNotQualified(
                msg("domain.ins.not_transmissible", status=status),
                detail=f"status={self.status.value}",
            )
        return self.ins

    def __repr__(self) -> str:
        ins = "None" if self.ins is None else repr(self.ins)
        return f"Identity(ins={ins}, traits=<redacted>, status={self.status.value})"


class Trait(StrEnum):
    """The five strict traits, in the order a person reads them."""

    BIRTH_FAMILY_NAME = "birth_family_name"
    BIRTH_GIVEN_NAMES = "birth_given_names"
    BIRTH_DATE = "birth_date"
    SEX = "sex"
    BIRTH_PLACE = "birth_place"


@dataclass(frozen=True)
class TraitDifference:
    """One strict trait that differs, and why, in French and English (no values shown)."""

    trait: Trait
    why: Message

    @property
    def reason(self) -> str:
        """Why, in French."""
        return self.why.text("fr")

    @property
    def reason_en(self) -> str:
        """Why, in English."""
        return self.why.text("en")


def _given_names_difference(
    reference: tuple[str, ...], other: tuple[str, ...]
) -> TraitDifference | None:
    if reference == other:
        return None
    trait = Trait.BIRTH_GIVEN_NAMES
    if sorted(reference) == sorted(other):
        return TraitDifference(trait, msg("domain.ins.given_names_difference_2"))
    if len(reference) != len(other):
        return TraitDifference(
            trait,
            msg("domain.ins.given_names_difference_3", other=len(other), reference=len(reference)),
        )
    rank = next(i for i, (a, b) in enumerate(zip(reference, other, strict=True)) if a != b) + 1
    return TraitDifference(trait, msg("domain.ins.given_names_difference", rank=rank))


def _birth_date_difference(reference: date, other: date) -> TraitDifference | None:
    if reference == other:
        return None
    parts = [
        part
        for part, a, b in (
            ("day", reference.day, other.day),
            ("month", reference.month, other.month),
            ("year", reference.year, other.year),
        )
        if a != b
    ]
    fr, en = (", ".join(text(f"domain.ins.date_part.{p}", lang) for p in parts) for lang in LANGS)
    return TraitDifference(
        Trait.BIRTH_DATE, msg("domain.ins.different_birth_date", parts=Words(fr, en))
    )


def compare_traits(reference: StrictTraits, other: StrictTraits) -> list[TraitDifference]:
    """Every strict trait where ``other`` differs from ``reference``; empty when identical."""
    differences: list[TraitDifference] = []
    if reference.birth_family_name != other.birth_family_name:
        differences.append(
            TraitDifference(
                Trait.BIRTH_FAMILY_NAME,
                msg("domain.ins.compare_traits"),
            )
        )
    given = _given_names_difference(reference.birth_given_names, other.birth_given_names)
    if given is not None:
        differences.append(given)
    born = _birth_date_difference(reference.birth_date, other.birth_date)
    if born is not None:
        differences.append(born)
    if reference.sex is not other.sex:
        differences.append(TraitDifference(Trait.SEX, msg("domain.ins.compare_traits_2")))
    if reference.birth_place != other.birth_place:
        abroad = (reference.birth_place[:2] == "99") != (other.birth_place[:2] == "99")
        differences.append(
            TraitDifference(
                Trait.BIRTH_PLACE,
                msg("domain.ins.different_birth_place_abroad")
                if abroad
                else msg("domain.ins.different_birth_place"),
            )
        )
    return differences
