"""The open structure of a Vitale card: BER-TLV, the EF 2001 map, beneficiaries (pure).

Layout as read by Cardpeek's ``vitale_2.lua`` (DOMAIN.md §5, **verify** against
SESAM-Vitale documents on site): EF ``2001`` of the VITALE application is the map
``E0 { A0 { 82 … } 80 … }``; beneficiary files hold ``65`` objects with ``80``
family name, ``81`` given name, ``82`` birth date, ``90`` nationality, ``93`` the
insured person's NIR, and the simulation extension ``83`` birth rank / ``84``
quality. ``66`` describes the card; its ``81`` (card serial) is a simulation
extension too. Unknown tags are skipped; anything malformed is a
:class:`~kiosk.errors.CardReadError` naming the file.

The builders exist for the virtual card and the property tests: parse(build(x)) == x.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from kiosk.domain.nir import Nir, NirError
from kiosk.errors import CardReadError
from kiosk.locale import msg

__all__ = [
    "MAP_FID",
    "MF_VITALE_AID",
    "QUALITIES",
    "VITALE_AID",
    "Beneficiary",
    "CardDescription",
    "FileRef",
    "Tlv",
    "VitaleCardData",
    "VitaleMap",
    "build_beneficiary",
    "build_card_description",
    "build_map",
    "build_tlv",
    "check_insured_nir",
    "content_serial",
    "date_from_shown",
    "parse_beneficiaries",
    "parse_card_description",
    "parse_map",
    "parse_tlv",
    "shown_birth_date",
]

VITALE_AID = bytes.fromhex("D250000002564954414C45")
"""Application "VITALE" (DOMAIN.md §5)."""
MF_VITALE_AID = bytes.fromhex("D2500000024D465F564954414C45")
"""Application "MF_VITALE" (DOMAIN.md §5)."""
MAP_FID = 0x2001
"""EF 2001 of VITALE: the map."""

QUALITIES: dict[str, str] = {"00": "insured", "01": "insured", "02": "spouse", "06": "child"}
"""Quality codes of the simulation extension ``84`` (DOMAIN.md §5); others are kept as codes."""

_TAG_BENEFICIARY = 0x65
_TAG_CARD = 0x66
_TAG_MAP = 0xE0
_TAG_APPS = 0xA0
_TAG_APP = 0x82
_TAG_FILE = 0x80


def _bad(file: str, what: str) -> CardReadError:
    return CardReadError(
        msg("domain.vitale.bad", file=file, what=what),
        detail=f"file={file} {what}",
    )


@dataclass(frozen=True)
class Tlv:
    """One BER-TLV data object: tag as an integer (``0x5F37``) and raw value."""

    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        """True when the value is itself a list of TLV objects (bit 6 of the first tag byte)."""
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)


def parse_tlv(data: bytes, *, file: str) -> list[Tlv]:
    """Split ``data`` into TLV objects; short and long lengths; padding 00/FF between objects."""
    out: list[Tlv] = []
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] in (0x00, 0xFF):  # ISO 7816-4 padding between objects
            pos += 1
            continue
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:  # multi-byte tag: continue while bit 8 is set
            while True:
                if pos >= end:
                    raise _bad(file, "truncated tag")
                tag = (tag << 8) | data[pos]
                pos += 1
                if not data[pos - 1] & 0x80:
                    break
                if tag > 0xFFFFFF:
                    raise _bad(file, "tag too long")
        if pos >= end:
            raise _bad(file, f"tag {tag:X} without length")
        length = data[pos]
        pos += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 3:
                raise _bad(file, f"tag {tag:X} with unsupported length form")
            if pos + count > end:
                raise _bad(file, f"tag {tag:X} with truncated length")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + length > end:
            raise _bad(file, f"tag {tag:X} longer than the file")
        out.append(Tlv(tag, data[pos : pos + length]))
        pos += length
    return out


def _tag_bytes(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def build_tlv(tag: int, value: bytes) -> bytes:
    """Encode one TLV object with the shortest BER length."""
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    elif n <= 0xFFFF:
        length = b"\x82" + n.to_bytes(2, "big")
    else:
        length = b"\x83" + n.to_bytes(3, "big")
    return _tag_bytes(tag) + length + value


@dataclass(frozen=True)
class FileRef:
    """A file listed by the map: 8-character name, owning application entry, file id."""

    name: str
    app_entry: int
    fid: int


@dataclass(frozen=True)
class VitaleMap:
    """EF 2001: applications by entry number (AIDs) and the files to read."""

    applications: dict[int, bytes]
    files: tuple[FileRef, ...]

    def aid_of(self, ref: FileRef, *, file: str = "2001") -> bytes:
        """The AID of the application owning ``ref``; an unknown entry is a malformed map."""
        try:
            return self.applications[ref.app_entry]
        except KeyError:
            raise _bad(file, f"file {ref.name!r} names unknown application") from None


def parse_map(data: bytes, *, file: str = "2001") -> VitaleMap:
    """Parse the EF 2001 map."""
    apps: dict[int, bytes] = {}
    files: list[FileRef] = []
    roots = [t for t in parse_tlv(data, file=file) if t.tag == _TAG_MAP]
    if not roots:
        raise _bad(file, "no E0 map object")
    for obj in parse_tlv(roots[0].value, file=file):
        if obj.tag == _TAG_APPS:
            for app in parse_tlv(obj.value, file=file):
                if app.tag != _TAG_APP:
                    continue
                if len(app.value) < 5:
                    raise _bad(file, "application entry too short")
                apps[int.from_bytes(app.value[:2], "big")] = app.value[4:]
        elif obj.tag == _TAG_FILE:
            if len(obj.value) != 12:
                raise _bad(file, "file entry is not 12 bytes")
            name = _ascii(obj.value[:8], file).rstrip()
            files.append(
                FileRef(
                    name,
                    int.from_bytes(obj.value[8:10], "big"),
                    int.from_bytes(obj.value[10:12], "big"),
                )
            )
    return VitaleMap(apps, tuple(files))


def build_map(vmap: VitaleMap) -> bytes:
    """Encode a map as EF 2001 content."""
    apps = b"".join(
        build_tlv(_TAG_APP, entry.to_bytes(2, "big") + b"\x00\x00" + aid)
        for entry, aid in vmap.applications.items()
    )
    files = b"".join(
        build_tlv(
            _TAG_FILE,
            ref.name.ljust(8).encode("ascii")[:8]
            + ref.app_entry.to_bytes(2, "big")
            + ref.fid.to_bytes(2, "big"),
        )
        for ref in vmap.files
    )
    return build_tlv(_TAG_MAP, build_tlv(_TAG_APPS, apps) + files)


def _ascii(raw: bytes, file: str) -> str:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _bad(file, "text is not ASCII") from None
    if not text.isprintable():
        raise _bad(file, "text has control characters")
    return text


def check_insured_nir(text: str, *, file: str) -> str:
    """The card's ``93`` value, checked as a NIR (DOMAIN.md §2); a bad one names the file."""
    try:
        return Nir.parse(text).value
    except NirError as exc:
        raise _bad(file, f"invalid NIR ({exc.message_en})") from exc


@dataclass(frozen=True)
class Beneficiary:
    """A person the card covers; ``insured_nir`` is the insured person's, not an INS."""

    family_name: str
    given_name: str
    birth_date: str
    """``YYYYMMDD`` as on the card; kept as text because lunar dates exist (day or month 00)."""
    insured_nir: str = field(repr=False)
    """15 characters, checked with ``Nir.parse`` when read from a card."""
    birth_rank: int | None = None
    quality: str | None = None
    """Two-digit code (``00`` insured, ``02`` spouse, ``06`` child) when the card says."""
    nationality: str | None = None

    def __repr__(self) -> str:
        return (
            f"Beneficiary(family_name={self.family_name[:1]}…, given_name={self.given_name[:1]}…, "
            f"birth_date=…, insured_nir={self.masked_nir()!r}, birth_rank={self.birth_rank}, "
            f"quality={self.quality})"
        )

    def masked_nir(self) -> str:
        """The insured NIR masked for display and logs (``Nir.masked``)."""
        return Nir.parse(self.insured_nir).masked()

    @property
    def quality_label(self) -> str:
        """``insured``, ``spouse``, ``child``, the raw code, or ``unknown``."""
        if self.quality is None:
            return "unknown"
        return QUALITIES.get(self.quality, self.quality)


def shown_birth_date(card_date: str) -> str:
    """``DD/MM/YYYY`` from the card's ``YYYYMMDD``, for a person to read.

    A lunar date (day or month ``00``, a civil record without them) keeps its ``00``
    as the card has it: it is not a calendar date, so it is never "corrected".
    Anything that is not eight digits is shown unchanged rather than guessed at.
    """
    if len(card_date) != 8 or not card_date.isdigit():
        return card_date
    return f"{card_date[6:8]}/{card_date[4:6]}/{card_date[:4]}"


def date_from_shown(shown: str) -> str | None:
    """The card's ``YYYYMMDD`` from a typed ``DD/MM/YYYY`` (``-`` or ``.`` also), or None.

    The inverse of :func:`shown_birth_date`, for the agent refining an INSi search:
    day ``00``-``31`` and month ``00``-``12`` (lunar dates exist), a four-digit year.
    """
    parts = shown.strip().replace("-", "/").replace(".", "/").split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    day, month, year = parts
    if len(day) > 2 or len(month) > 2 or len(year) != 4:
        return None
    if not (0 <= int(day) <= 31 and 0 <= int(month) <= 12):
        return None
    return f"{year}{int(month):02d}{int(day):02d}"


def _one_beneficiary(value: bytes, file: str) -> Beneficiary:
    fields: dict[int, str] = {}
    for obj in parse_tlv(value, file=file):
        if obj.tag in (0x80, 0x81, 0x82, 0x83, 0x84, 0x90, 0x93):
            fields[obj.tag] = _ascii(obj.value, file).strip()
    missing = [f"{t:X}" for t in (0x80, 0x81, 0x82, 0x93) if not fields.get(t)]
    if missing:
        raise _bad(file, f"beneficiary without tag {', '.join(missing)}")
    birth = fields[0x82]
    if len(birth) != 8 or not birth.isdigit():
        raise _bad(file, "birth date is not YYYYMMDD")
    rank_text = fields.get(0x83)
    if rank_text is not None and (len(rank_text) != 1 or not rank_text.isdigit()):
        raise _bad(file, "birth rank is not one digit")
    quality = fields.get(0x84)
    if quality is not None and (len(quality) != 2 or not quality.isdigit()):
        raise _bad(file, "quality is not two digits")
    return Beneficiary(
        family_name=fields[0x80],
        given_name=fields[0x81],
        birth_date=birth,
        insured_nir=check_insured_nir(fields[0x93], file=file),
        birth_rank=int(rank_text) if rank_text is not None else None,
        quality=quality,
        nationality=fields.get(0x90) or None,
    )


def parse_beneficiaries(data: bytes, *, file: str) -> list[Beneficiary]:
    """Every ``65`` object of one file, in card order; other objects are skipped."""
    return [_one_beneficiary(t.value, file) for t in parse_tlv(data, file=file) if t.tag == 0x65]


def build_beneficiary(person: Beneficiary) -> bytes:
    """Encode one ``65`` object (with the simulation extension when set)."""
    parts = [
        build_tlv(0x80, person.family_name.encode("ascii")),
        build_tlv(0x81, person.given_name.encode("ascii")),
        build_tlv(0x82, person.birth_date.encode("ascii")),
    ]
    if person.birth_rank is not None:
        parts.append(build_tlv(0x83, str(person.birth_rank).encode("ascii")))
    if person.quality is not None:
        parts.append(build_tlv(0x84, person.quality.encode("ascii")))
    if person.nationality is not None:
        parts.append(build_tlv(0x90, person.nationality.encode("ascii")))
    parts.append(build_tlv(0x93, person.insured_nir.encode("ascii")))
    return build_tlv(_TAG_BENEFICIARY, b"".join(parts))


@dataclass(frozen=True)
class CardDescription:
    """The ``66`` object: validity start and (simulation extension ``81``) card serial."""

    validity_start: str | None = None
    serial: str | None = None


def parse_card_description(data: bytes, *, file: str) -> CardDescription | None:
    """The first ``66`` object of a file, or None when the file has none."""
    for obj in parse_tlv(data, file=file):
        if obj.tag == _TAG_CARD:
            inner = {t.tag: _ascii(t.value, file) for t in parse_tlv(obj.value, file=file)}
            return CardDescription(inner.get(0x80), inner.get(0x81))
    return None


def build_card_description(desc: CardDescription) -> bytes:
    """Encode a ``66`` object."""
    inner = b""
    if desc.validity_start is not None:
        inner += build_tlv(0x80, desc.validity_start.encode("ascii"))
    if desc.serial is not None:
        inner += build_tlv(0x81, desc.serial.encode("ascii"))
    return build_tlv(_TAG_CARD, inner)


def content_serial(files: dict[str, bytes]) -> str:
    """A stable fingerprint of the card's files, used as serial when the card gives none."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\x00" + len(files[name]).to_bytes(4, "big") + files[name])
    return "sha256:" + digest.hexdigest()[:20]


@dataclass(frozen=True)
class VitaleCardData:
    """What a Vitale read yields: a serial (to detect a swapped card) and the beneficiaries."""

    serial: str
    beneficiaries: tuple[Beneficiary, ...]

    def __repr__(self) -> str:
        return f"VitaleCardData(serial={self.serial!r}, beneficiaries={len(self.beneficiaries)})"

    @property
    def holder(self) -> Beneficiary | None:
        """The insured person (quality 00/01) when the card says, else the first beneficiary."""
        for person in self.beneficiaries:
            if person.quality in ("00", "01"):
                return person
        return self.beneficiaries[0] if self.beneficiaries else None
