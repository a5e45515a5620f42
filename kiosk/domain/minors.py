"""Minors and their legal representatives: who consents for a patient under 18.

Seed 000 names "les représentants légaux du patient"; seed 001 has consent given by
"la personne ayant l'autorité parentale". A beneficiary is a minor until the day of
their eighteenth birthday, counted from the birth date *on the Vitale card* and the
site's calendar date; their consent (to the creation, to our access) is then given by
a legal representative, whose identity and quality are recorded with it.

Two decisions, kept here (README "Minors and legal representatives"):

* born on 29 February, one comes of age on 1 March of a common year: eighteen years
  are complete only once 28 February has passed;
* a lunar birth date (day or month ``00``, or a day the month does not have, as civil
  records without them give) counts from the *latest* day it may stand for: month
  ``00`` is December, day ``00`` the month's last. Until adulthood is certain, the
  representative consents.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kiosk.errors import InvalidInput
from kiosk.locale import msg

__all__ = [
    "MAJORITY_AGE",
    "LegalRepresentative",
    "RepresentativeInvalid",
    "RepresentativeQuality",
    "RepresentativeRequired",
    "is_minor",
    "majority_day",
    "require_representative",
]

MAJORITY_AGE = 18
"""Code civil, art. 388 and 414: « La majorité est fixée à dix-huit ans accomplis »."""

_NAME_MAX = 80
_NAME = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ' -]+")


class RepresentativeInvalid(InvalidInput):
    """A legal representative without a name, or with one no document would carry."""

    code = "REPRESENTATIVE_INVALID"


class RepresentativeRequired(InvalidInput):
    """A minor's consent asked without the legal representative who gives it."""

    code = "REPRESENTATIVE_REQUIRED"


class RepresentativeQuality(StrEnum):
    """In what capacity the representative consents for the patient."""

    PARENT = "parent"
    """Holds parental authority (seed 001: « la personne ayant l'autorité parentale »)."""
    GUARDIAN = "guardian"
    """Tutor of a minor, or of an adult under guardianship."""


@dataclass(frozen=True, repr=False)
class LegalRepresentative:
    """Who consents for the patient: names as on their identity document, and quality."""

    family_name: str
    given_name: str
    quality: RepresentativeQuality

    def __post_init__(self) -> None:
        for field_name, value in (
            ("family_name", self.family_name),
            ("given_name", self.given_name),
        ):
            cleaned = " ".join(value.split())
            if not cleaned:
                raise RepresentativeInvalid(
                    msg("domain.minors.name_missing"), detail=f"{field_name}_empty"
                )
            if len(cleaned) > _NAME_MAX or not _NAME.fullmatch(cleaned):
                raise RepresentativeInvalid(
                    msg("domain.minors.name_invalid"), detail=f"{field_name}_invalid"
                )
            object.__setattr__(self, field_name, cleaned)

    @property
    def display_name(self) -> str:
        """``Given FAMILY``, as the screens and the audit name them."""
        return f"{self.given_name} {self.family_name.upper()}"

    def __repr__(self) -> str:
        return f"LegalRepresentative(<redacted>, quality={self.quality.value})"


def majority_day(card_birth_date: str) -> date:
    """The day a person born on ``card_birth_date`` (``YYYYMMDD``, maybe lunar) turns 18."""
    if not re.fullmatch(r"[0-9]{8}", card_birth_date):
        raise InvalidInput(msg("domain.minors.birth_date"), detail="not YYYYMMDD")
    year, month, day = (
        int(card_birth_date[:4]),
        int(card_birth_date[4:6]),
        int(card_birth_date[6:]),
    )
    if year < 1:
        raise InvalidInput(msg("domain.minors.birth_date"), detail="year 0000")
    if not 1 <= month <= 12:
        month = 12  # unknown month: the latest it may be
        day = 31
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        day = last  # unknown, or a day this month does not have: its last day
    adult_year = year + MAJORITY_AGE
    if month == 2 and day == 29 and not calendar.isleap(adult_year):
        return date(adult_year, 3, 1)  # 28 February is not yet eighteen years complete
    return date(adult_year, month, day)


def is_minor(card_birth_date: str, today: date) -> bool:
    """Whether the person is under 18 on ``today`` (the site's calendar date)."""
    return today < majority_day(card_birth_date)


def require_representative(
    card_birth_date: str, today: date, representative: LegalRepresentative | None
) -> LegalRepresentative | None:
    """The representative who consents; refused when a minor's consent comes without one.

    An adult may consent through a representative too (a guardian, for an adult under
    guardianship): it is then recorded, never required.
    """
    if representative is None and is_minor(card_birth_date, today):
        raise RepresentativeRequired(
            msg("domain.minors.representative_required"), detail="minor_without_representative"
        )
    return representative
