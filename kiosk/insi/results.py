"""What INSi answers, as values: the INS, the five strict traits, the identity and its history.

These carry personal data, so each redacts itself in ``repr`` (STYLE.md §5). Traits
are kept normalised as INSi sends them: upper case, no diacritics, hyphen, apostrophe
and space kept (DOMAIN.md §2). Birth dates stay text ``YYYY-MM-DD`` because civil
records with an unknown day or month (``00``) exist.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kiosk.errors import InvalidInput
from kiosk.insi.protocol import ResultCode

__all__ = [
    "InsiIdentity",
    "InsiIns",
    "InsiResult",
    "InsiTraits",
    "normalise_name",
    "parse_birth_date",
]

_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_NAME_OK = re.compile(r"^[A-Z][A-Z '\-]*$")


def normalise_name(text: str) -> str:
    """Upper case without diacritics; hyphen, apostrophe and single spaces kept (DOMAIN.md §2)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("Œ", "OE").replace("œ", "oe").replace("Æ", "AE").replace("æ", "ae")
    return " ".join(plain.upper().split())


def _check_name(text: str, what_fr: str, what_en: str) -> str:
    name = normalise_name(text)
    if not _NAME_OK.match(name):
        raise InvalidInput(
            f"{what_fr} invalide : lettres, espace, tiret ou apostrophe seulement.",
            f"Invalid {what_en}: letters, space, hyphen or apostrophe only.",
            detail=f"{what_en} rejected",
        )
    return name


def parse_birth_date(text: str) -> str:
    """``YYYY-MM-DD`` from ``YYYY-MM-DD`` or ``YYYYMMDD``; day or month ``00`` allowed."""
    match = _DATE.match(text.strip())
    if not match or not (0 <= int(match[2]) <= 12 and 0 <= int(match[3]) <= 31):
        raise InvalidInput(
            "Date de naissance invalide (attendu AAAA-MM-JJ).",
            "Invalid birth date (expected YYYY-MM-DD).",
            detail="birth date rejected",
        )
    return f"{match[1]}-{match[2]}-{match[3]}"


@dataclass(frozen=True)
class InsiTraits:
    """The five strict traits; ``birth_place`` is an INSEE code (``99xxx`` abroad)."""

    family_name: str
    given_names: tuple[str, ...]
    sex: str
    birth_date: str
    birth_place: str | None = None

    @classmethod
    def create(
        cls,
        *,
        family_name: str,
        given_names: str | tuple[str, ...],
        sex: str,
        birth_date: str,
        birth_place: str | None = None,
    ) -> InsiTraits:
        """Validated, normalised traits; ``given_names`` as a space-separated list or a tuple."""
        names = given_names.split() if isinstance(given_names, str) else list(given_names)
        given = tuple(_check_name(n, "Prénom", "given name") for n in names)
        if not given:
            raise InvalidInput("Prénom manquant.", "Given name missing.", detail="no given name")
        sex_n = sex.strip().upper()
        if sex_n not in ("F", "M"):
            raise InvalidInput("Sexe invalide (F ou M).", "Invalid sex (F or M).", detail="sex")
        place = birth_place.strip().upper() if birth_place else None
        if place is not None and not re.fullmatch(r"[0-9][0-9AB][0-9]{3}", place):
            raise InvalidInput(
                "Lieu de naissance invalide (code INSEE à 5 caractères).",
                "Invalid birth place (5-character INSEE code).",
                detail="birth place",
            )
        return cls(
            family_name=_check_name(family_name, "Nom de naissance", "birth name"),
            given_names=given,
            sex=sex_n,
            birth_date=parse_birth_date(birth_date),
            birth_place=place,
        )

    def __repr__(self) -> str:
        return (
            f"InsiTraits(family_name={self.family_name[:1]}…, given_names={len(self.given_names)},"
            f" sex={self.sex}, birth_date=…, birth_place={'…' if self.birth_place else None})"
        )


@dataclass(frozen=True)
class InsiIns:
    """An INS as INSi gives it: matricule (13 characters + 2-digit key), OID, NIR or NIA."""

    matricule: str
    oid: str
    kind: str = "NIR"

    def __repr__(self) -> str:
        return f"InsiIns({self.masked}, oid={self.oid}, kind={self.kind})"

    @property
    def masked(self) -> str:
        """Sex digit and key only, for display and logs."""
        return f"{self.matricule[:1]} ** ** ** *** *** {self.matricule[13:]}"


@dataclass(frozen=True)
class InsiIdentity:
    """One identity found: its active INS, its traits, and the INS it had before."""

    ins: InsiIns
    traits: InsiTraits
    history: tuple[InsiIns, ...] = ()


@dataclass(frozen=True)
class InsiResult:
    """One answer: its code, the identity when exactly one was found, what was asked."""

    code: ResultCode
    label: str
    identity: InsiIdentity | None = None
    given_names_tried: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """Exactly one identity."""
        return self.code is ResultCode.ONE and self.identity is not None
