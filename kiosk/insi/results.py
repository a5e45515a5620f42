"""What INSi answers, as values: the INS, the five strict traits, the identity and its history.

These carry personal data, so each redacts itself in ``repr`` (STYLE.md §5). Traits
are kept normalised as INSi sends them: upper case, no diacritics, hyphen, apostrophe
and space kept (DOMAIN.md §2). Birth dates stay text ``YYYY-MM-DD`` because civil
records with an unknown day or month (``00``) exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.domain.ins import check_birth_place, normalise_name
from kiosk.errors import InvalidInput
from kiosk.insi.protocol import ResultCode
from kiosk.locale import msg

__all__ = [
    "InsiIdentity",
    "InsiIns",
    "InsiResult",
    "InsiTraits",
    "parse_birth_date",
]

_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def parse_birth_date(text: str) -> str:
    """``YYYY-MM-DD`` from ``YYYY-MM-DD`` or ``YYYYMMDD``; day or month ``00`` allowed."""
    match = _DATE.match(text.strip())
    if not match or not (0 <= int(match[2]) <= 12 and 0 <= int(match[3]) <= 31):
        raise InvalidInput(
            msg("insi.results.parse_birth_date"),
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
        given = tuple(part for n in names for part in normalise_name(n).split(" "))
        if not given:
            raise InvalidInput(msg("insi.results.insi_traits_create"), detail="no given name")
        sex_n = sex.strip().upper()
        if sex_n not in ("F", "M"):
            raise InvalidInput(msg("insi.results.insi_traits_create_2"), detail="sex")
        place = check_birth_place(birth_place) if birth_place else None
        return cls(
            family_name=normalise_name(family_name),
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
