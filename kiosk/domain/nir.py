"""NIR and NIA: structure, key (Corsica 2A/2B), kind, and masking for display.

DOMAIN.md §2: 13-character body (sex, year, month, place of birth, order) plus a
2-digit key = 97 − (body mod 97), with ``2A`` → ``19`` and ``2B`` → ``18`` substituted
before the computation. The month is never checked against 01–12: civil records that
are incomplete give 20–42 or 50 and above. A NIA has the same shape; only the OID of
its authority tells it apart, so the caller passes ``kind_hint``.

A :class:`Nir` never shows its full value in ``repr`` or ``str``: both give the masked
form, so an accidental log line or traceback carries no full identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.errors import InvalidInput
from kiosk.locale import Message, msg

__all__ = [
    "Nir",
    "NirError",
    "NirKind",
    "NirReason",
    "is_valid",
    "nir_key",
]

_DIGITS = frozenset("0123456789")
_BODY_LENGTH = 13
_LENGTH = 15
# Index of the department inside the body (sex 1 + year 2 + month 2).
_DEPT = slice(5, 7)
_CORSICA = {"2A": "19", "2B": "18"}
_SEX_KIND = {"1": "nir", "2": "nir", "7": "provisional", "8": "provisional"}
_MASK = "•••"
# Only the Corsica letters have a meaning in lower case; anything else stays as typed
# so that an error message shows the very character the person entered.
_UPPER_CORSICA = str.maketrans("ab", "AB")


class NirKind(StrEnum):
    """What a matricule is: a NIR, a NIA (told by its OID), or a provisional NIR."""

    NIR = "nir"
    NIA = "nia"
    PROVISIONAL = "provisional"


class NirReason(StrEnum):
    """Why a NIR was refused; callers rarely branch on it, logs and tests do."""

    LENGTH = "length"
    CHARACTERS = "characters"
    CORSICA = "corsica"
    SEX = "sex"
    KEY = "key"


class NirError(InvalidInput):
    """A NIR or NIA that cannot be accepted; ``reason`` says which rule it breaks."""

    code = "NIR_INVALID"

    def __init__(self, reason: NirReason, message: Message, *, detail: str = "") -> None:
        super().__init__(message, detail=detail or reason.value)
        self.reason = reason


def _check_characters(body: str) -> None:
    """Raise unless ``body`` is digits, with ``2A``/``2B`` allowed only as department."""
    for index, char in enumerate(body):
        if char in _DIGITS:
            continue
        in_dept = _DEPT.start <= index < _DEPT.stop
        if in_dept and body[_DEPT] in _CORSICA:
            continue
        if in_dept and char.isascii() and char.isalpha():
            dept = body[_DEPT]
            raise NirError(
                NirReason.CORSICA,
                msg("domain.nir.check_characters_2", dept=dept),
            )
        # The position is 1-based for people; the character alone identifies no one.
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        raise NirError(
            NirReason.CHARACTERS,
            msg("domain.nir.check_characters", shown=shown, value=index + 1),
        )


def _numeric_body(body: str) -> int:
    """The body as the integer used for the key, after the Corsica substitution."""
    dept = body[_DEPT]
    if dept in _CORSICA:
        body = body[: _DEPT.start] + _CORSICA[dept] + body[_DEPT.stop :]
    return int(body)


def nir_key(body: str) -> int:
    """The 2-digit key (1–97) of a 13-character NIR body; ``2A``→19 and ``2B``→18."""
    body = body.translate(_UPPER_CORSICA)
    if len(body) != _BODY_LENGTH:
        raise NirError(
            NirReason.LENGTH,
            msg("domain.nir.nir_key", body_length=_BODY_LENGTH, body=len(body)),
        )
    _check_characters(body)
    return 97 - _numeric_body(body) % 97


@dataclass(frozen=True, repr=False)
class Nir:
    """A checked NIR or NIA; build it with :meth:`Nir.parse`, never from a raw string."""

    value: str
    body: str
    key: int
    kind: NirKind
    sex_digit: str
    birth_year: str
    birth_month: str
    birth_place: str
    born_abroad: bool
    order: str

    @classmethod
    def parse(cls, text: str, kind_hint: NirKind | None = None) -> Nir:
        """Parse a NIR typed or read anywhere: spaces allowed, ``2a``/``2b`` accepted.

        ``kind_hint=NirKind.NIA`` marks a NIA (known from its OID); otherwise the sex
        digit tells a NIR (1, 2) from a provisional one (7, 8).
        """
        value = "".join(text.split()).translate(_UPPER_CORSICA)
        if len(value) != _LENGTH:
            raise NirError(
                NirReason.LENGTH,
                msg("domain.nir.nir_parse", length=_LENGTH, value=len(value)),
            )
        body, key_text = value[:_BODY_LENGTH], value[_BODY_LENGTH:]
        _check_characters(body)
        for offset, char in enumerate(key_text, start=_BODY_LENGTH + 1):
            if char not in _DIGITS:
                shown = char if char.isprintable() else f"U+{ord(char):04X}"
                raise NirError(
                    NirReason.CHARACTERS,
                    msg("domain.nir.nir_parse_4", shown=shown, offset=offset),
                )
        sex_digit = body[0]
        if sex_digit not in _SEX_KIND:
            raise NirError(
                NirReason.SEX,
                msg("domain.nir.nir_parse_2", sex_digit=sex_digit),
            )
        expected = 97 - _numeric_body(body) % 97
        given = int(key_text)
        if given != expected:
            # The key alone identifies no one, so both values may be shown.
            raise NirError(
                NirReason.KEY,
                msg("domain.nir.nir_parse_3", expected=expected, key_text=key_text),
            )
        kind = NirKind.NIA if kind_hint == NirKind.NIA else NirKind(_SEX_KIND[sex_digit])
        birth_place = body[5:10]
        return cls(
            value=value,
            body=body,
            key=expected,
            kind=kind,
            sex_digit=sex_digit,
            birth_year=body[1:3],
            birth_month=body[3:5],
            birth_place=birth_place,
            born_abroad=birth_place.startswith("99"),
            order=body[10:13],
        )

    @property
    def department(self) -> str:
        """The two characters of the department (``2A``/``2B`` for Corsica, ``99`` abroad)."""
        return self.birth_place[:2]

    def masked(self) -> str:
        """Display form hiding commune and order: ``2 53 07 2B ••• ••• 70``."""
        return (
            f"{self.sex_digit} {self.birth_year} {self.birth_month} {self.department}"
            f" {_MASK} {_MASK} {self.key:02d}"
        )

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"Nir({self.masked()!r}, kind={self.kind.value})"


def is_valid(text: str) -> bool:
    """Whether ``text`` is a well-formed NIR with a correct key."""
    try:
        Nir.parse(text)
    except NirError:
        return False
    return True
