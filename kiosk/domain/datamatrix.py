"""The INS Data Matrix payload (2D-Doc layout, unsigned): build it and parse it.

DOMAIN.md §3 **(verify)** against ANS « INS — Format datamatrix » v2.2: a 26-character
header ``IS01`` + 22 zeros, then fields S1–S7, each a 2-character identifier and its
value. A variable-length field shorter than its maximum ends with GS (0x1D); fixed-length
fields and fields at their maximum do not, and the last field never needs one.

Parsing reads by identifier, never by position. Keyboard-wedge scanners remap GS (to
``<GS>``, ``^]``, ``~``…) or drop it: substitutes are configurable, and when GS is gone the
parser falls back on the fixed lengths and on the next identifier. That is sound because
names hold no digits and OIDs no letters, so ``S`` + digit inside a variable field can only
start the next field; should more than one boundary ever fit, the parser reports the
ambiguity instead of guessing. A scanned INS is data to verify (INSi), not proof.

Every malformed input raises :class:`DataMatrixError` naming the field and the offset
(in characters of the decoded text, as received), and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kiosk.domain.ins import (
    KNOWN_OIDS,
    OID_INS_NIA,
    Identity,
    Ins,
    Sex,
    StrictTraits,
    check_birth_place,
    normalise_name,
)
from kiosk.domain.nir import Nir, NirError, NirKind
from kiosk.domain.scanned_text import DEFAULT_GS_SUBSTITUTES, GS, ScannedText, decode_scanned
from kiosk.errors import IdentityError, InvalidInput
from kiosk.locale import Message, Words, msg

__all__ = [
    "DEFAULT_GS_SUBSTITUTES",
    "GS",
    "HEADER",
    "MAX_PAYLOAD_LENGTH",
    "DataMatrixError",
    "DataMatrixReason",
    "InsDataMatrix",
    "build_payload",
    "parse_payload",
    "payload_fields",
    "payload_for",
]

HEADER = "IS01" + "0" * 22
# The longest valid payload is under 300 characters: anything far longer is not one.
MAX_PAYLOAD_LENGTH = 1024


class DataMatrixReason(StrEnum):
    """Which rule a payload breaks."""

    HEADER = "header"
    TRUNCATED = "truncated"
    IDENTIFIER = "identifier"
    DUPLICATE = "duplicate"
    MISSING = "missing"
    LENGTH = "length"
    CHARACTERS = "characters"
    VALUE = "value"
    AMBIGUOUS = "ambiguous"


class DataMatrixError(InvalidInput):
    """A payload that is not a valid INS Data Matrix; ``field`` and ``offset`` say where."""

    code = "DATAMATRIX_INVALID"

    def __init__(
        self, field: str, offset: int, reason: DataMatrixReason, what: Message | Words
    ) -> None:
        place = (
            msg("domain.datamatrix.place_header")
            if field == "header"
            else msg("domain.datamatrix.place_field", field=field)
        )
        super().__init__(
            msg("domain.datamatrix.unreadable", what=what, place=place, offset=offset),
            detail=f"{reason.value} field={field} offset={offset}",
        )
        self.field = field
        self.offset = offset
        self.reason = reason


_R = DataMatrixReason
_EMPTY = msg("domain.datamatrix.empty")
_CUT_IDENTIFIER = msg("domain.datamatrix.cut_identifier")
_UNKNOWN_IDENTIFIER = msg("domain.datamatrix.unknown_identifier")
_MISSING = msg("domain.datamatrix.missing")
_AMBIGUOUS = msg("domain.datamatrix.ambiguous")
_BAD_DATE = msg("domain.datamatrix.bad_date")


@dataclass(frozen=True)
class _Field:
    ident: str
    maximum: int
    fixed: bool
    allowed: str  # "oid" | "name" | "" (checked by the value's own parser)


_FIELDS: dict[str, _Field] = {
    "S1": _Field("S1", 15, True, ""),
    "S2": _Field("S2", 20, False, "oid"),
    "S3": _Field("S3", 100, False, "name"),
    "S4": _Field("S4", 100, False, "name"),
    "S5": _Field("S5", 1, True, ""),
    "S6": _Field("S6", 10, True, ""),
    "S7": _Field("S7", 5, True, ""),
}
_ORDER = tuple(_FIELDS)
_OID_CHARS = frozenset("0123456789.")
_NAME_PUNCTUATION = frozenset(" -'’‘ʼ‐‑")
_COMMON = {"oid": re.compile(r"[0-9.]*"), "name": re.compile(r"[A-Za-z '\-]*")}


def _shown(char: str) -> str:
    return char if char.isprintable() else f"U+{ord(char):04X}"


def _fits(spec: _Field, char: str) -> bool:
    """Whether ``char`` may appear in the raw value of a variable field."""
    if spec.allowed == "oid":
        return char in _OID_CHARS
    if char.isascii():
        return char.isalpha() or char in _NAME_PUNCTUATION
    return char.isalpha() or char in _NAME_PUNCTUATION or bool(unicodedata.combining(char))


def _check_header(src: ScannedText) -> None:
    text = src.text
    if not text:
        raise DataMatrixError(
            "header", src.at(0), _R.TRUNCATED, msg("domain.datamatrix.check_header")
        )
    if not text.startswith(HEADER):
        mismatch = next(
            (i for i, (a, b) in enumerate(zip(text, HEADER, strict=False)) if a != b),
            min(len(text), len(HEADER)),
        )
        if mismatch == len(text):
            raise DataMatrixError(
                "header", src.at(mismatch), _R.TRUNCATED, msg("domain.datamatrix.check_header_2")
            )
        what = (
            msg("domain.datamatrix.not_ins")
            if mismatch < 4
            else msg(
                "domain.datamatrix.not_zero",
                char=Words(f"« {_shown(text[mismatch])} »", repr(text[mismatch])),
            )
        )
        raise DataMatrixError("header", src.at(mismatch), _R.HEADER, what)


def _is_identifier(text: str, index: int) -> bool:
    return text[index : index + 2] in _FIELDS


def _variable_end(src: ScannedText, start: int, spec: _Field) -> tuple[int, int]:
    """Where a variable field's value ends, and where the next field starts.

    The value runs over the characters its field allows; it ends at a GS, at the end of
    the payload, or — when GS was dropped — where the next identifier begins.
    """
    text, length = src.text, len(src.text)
    limit = start + spec.maximum
    scan_end = min(length, limit + 2)
    # The common characters in one C-speed match, then the rare ones one by one.
    common = _COMMON[spec.allowed].match(text, start, scan_end)
    stop = common.end() if common else start
    while stop < scan_end and _fits(spec, text[stop]):
        stop += 1
    # An identifier holds a digit, which no variable field allows, so it can only sit at
    # ``stop`` (an OID followed by ``S``) or at ``stop - 1`` (a name followed by ``S`` + digit).
    ends = [
        end
        for end in (stop - 1, stop)
        if start < end <= limit and (end == length or text[end] == GS or _is_identifier(text, end))
    ]
    if len(ends) > 1:
        raise DataMatrixError(spec.ident, src.at(start), _R.AMBIGUOUS, _AMBIGUOUS)
    if ends:
        end = ends[0]
        return end, end + 1 if end < length and text[end] == GS else end
    if start == length or text[start] == GS or _is_identifier(text, start):
        raise DataMatrixError(spec.ident, src.at(start), _R.VALUE, _EMPTY)
    if stop > limit:
        raise DataMatrixError(
            spec.ident,
            src.at(limit),
            _R.LENGTH,
            msg("domain.datamatrix.variable_end_2", maximum=spec.maximum),
        )
    char = _shown(text[stop])
    raise DataMatrixError(
        spec.ident,
        src.at(stop),
        _R.CHARACTERS,
        msg("domain.datamatrix.variable_end", char=char),
    )


def _split_fields(src: ScannedText) -> dict[str, tuple[str, int]]:
    """Each identifier's raw value and its offset in ``src.text``."""
    text, length = src.text, len(src.text)
    values: dict[str, tuple[str, int]] = {}
    index = len(HEADER)
    while index < length:
        ident = text[index : index + 2]
        spec = _FIELDS.get(ident)
        if spec is None:
            shown = ident if ident.isascii() and ident.isalnum() else "?"
            if len(ident) < 2:
                raise DataMatrixError(shown, src.at(index), _R.TRUNCATED, _CUT_IDENTIFIER)
            raise DataMatrixError(shown, src.at(index), _R.IDENTIFIER, _UNKNOWN_IDENTIFIER)
        if ident in values:
            raise DataMatrixError(
                ident, src.at(index), _R.DUPLICATE, msg("domain.datamatrix.split_fields")
            )
        start = index + 2
        if spec.fixed:
            value = text[start : start + spec.maximum]
            if len(value) < spec.maximum:
                raise DataMatrixError(
                    ident,
                    src.at(length),
                    _R.TRUNCATED,
                    msg("domain.datamatrix.split_fields_2", maximum=spec.maximum, value=len(value)),
                )
            if GS in value:
                raise DataMatrixError(
                    ident,
                    src.at(start + value.index(GS)),
                    _R.LENGTH,
                    msg("domain.datamatrix.split_fields_3", maximum=spec.maximum),
                )
            index = start + spec.maximum
            # A superfluous GS after a fixed field is harmless: tolerate it.
            if index < length and text[index] == GS:
                index += 1
        else:
            end, index = _variable_end(src, start, spec)
            value = text[start:end]
        values[ident] = (value, start)
    for ident in _ORDER:
        if ident not in values:
            raise DataMatrixError(ident, src.at(length), _R.MISSING, _MISSING)
    return values


def _birth_date(value: str) -> date:
    day, month, year = value[0:2], value[3:5], value[6:10]
    if (
        value[2:3] != "-"
        or value[5:6] != "-"
        or not all(part.isascii() and part.isdigit() for part in (day, month, year))
    ):
        raise ValueError(value)
    return date(int(year), int(month), int(day))


@dataclass(frozen=True, repr=False)
class InsDataMatrix:
    """The content of an INS Data Matrix: an INS and the strict traits printed with it."""

    ins: Ins
    traits: StrictTraits

    def payload(self) -> str:
        """The payload that encodes this content (see :func:`build_payload`)."""
        return build_payload(self.ins, self.traits)

    def __repr__(self) -> str:
        return f"InsDataMatrix(ins={self.ins!r}, traits=<redacted>)"


def _field_error(field: str, offset: int, exc: InvalidInput) -> DataMatrixError:
    return DataMatrixError(field, offset, _R.VALUE, Words(exc.message_fr, exc.message_en))


def parse_payload(
    data: str | bytes, *, gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES
) -> InsDataMatrix:
    """Parse a scanned payload (text or the decoder's bytes) into an INS and its traits."""
    if len(data) > MAX_PAYLOAD_LENGTH:  # before any work: a scanner may send anything
        raise DataMatrixError(
            "header",
            MAX_PAYLOAD_LENGTH,
            _R.LENGTH,
            msg("domain.datamatrix.parse_payload", max_payload_length=MAX_PAYLOAD_LENGTH),
        )
    src = decode_scanned(data, gs_substitutes)
    _check_header(src)
    fields = _split_fields(src)

    def at(ident: str) -> int:
        return src.at(fields[ident][1])

    oid = fields["S2"][0]
    if oid not in KNOWN_OIDS:
        raise DataMatrixError("S2", at("S2"), _R.VALUE, msg("domain.datamatrix.parse_payload_2"))
    try:
        nir = Nir.parse(fields["S1"][0], kind_hint=NirKind.NIA if oid == OID_INS_NIA else None)
    except NirError as exc:
        raise _field_error("S1", at("S1"), exc) from exc
    names: dict[str, str] = {}
    for ident in ("S3", "S4"):
        try:
            names[ident] = normalise_name(fields[ident][0])
        except IdentityError as exc:
            raise _field_error(ident, at(ident), exc) from exc
    sex_text = fields["S5"][0]
    if sex_text not in ("F", "M"):
        raise DataMatrixError(
            "S5",
            at("S5"),
            _R.VALUE,
            msg(
                "domain.datamatrix.bad_sex",
                sex=Words(f"« {_shown(sex_text)} »", repr(sex_text)),
            ),
        )
    try:
        born = _birth_date(fields["S6"][0])
    except ValueError as exc:
        raise DataMatrixError("S6", at("S6"), _R.VALUE, _BAD_DATE) from exc
    try:
        place = check_birth_place(fields["S7"][0])
    except IdentityError as exc:
        raise _field_error("S7", at("S7"), exc) from exc
    if place != fields["S7"][0].upper():  # check_birth_place strips spaces; a fixed field may not
        raise DataMatrixError("S7", at("S7"), _R.VALUE, msg("domain.datamatrix.parse_payload_3"))
    traits = StrictTraits(
        birth_family_name=names["S4"],
        birth_given_names=tuple(names["S3"].split(" ")),
        birth_date=born,
        sex=Sex(sex_text),
        birth_place=place,
    )
    return InsDataMatrix(Ins(nir, oid), traits)


def payload_fields(ins: Ins, traits: StrictTraits) -> dict[str, str]:
    """The value of each field S1–S7 for ``ins`` and ``traits``, as the payload writes it."""
    born = traits.birth_date
    return {
        "S1": ins.matricule.value,
        "S2": ins.oid,
        "S3": traits.given_names_joined,
        "S4": traits.birth_family_name,
        "S5": traits.sex.value,
        "S6": f"{born.day:02d}-{born.month:02d}-{born.year:04d}",
        "S7": traits.birth_place,
    }


def build_payload(ins: Ins, traits: StrictTraits) -> str:
    """The payload for ``ins`` and ``traits``: header, then S1–S7 with GS where required."""
    values = payload_fields(ins, traits)
    parts = [HEADER]
    offset = len(HEADER)
    for position, ident in enumerate(_ORDER):
        spec, value = _FIELDS[ident], values[ident]
        if len(value) > spec.maximum or (spec.fixed and len(value) != spec.maximum):
            raise DataMatrixError(
                ident,
                offset,
                _R.LENGTH,
                msg("domain.datamatrix.build_payload", value=len(value), maximum=spec.maximum),
            )
        last = position == len(_ORDER) - 1
        terminator = GS if not spec.fixed and len(value) < spec.maximum and not last else ""
        parts.append(ident + value + terminator)
        offset += len(parts[-1])
    return "".join(parts)


def payload_for(identity: Identity) -> str:
    """The payload of a qualified identity; refuses any other (DOMAIN.md §2, RNIV)."""
    return build_payload(identity.ins_for_transmission(), identity.traits)
