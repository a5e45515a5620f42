"""Receipts, INS labels and test pages: one layout model, rendered as PNG and as ESC/POS.

A page is a :class:`Layout`, a vertical stack of blocks (text, gaps, rules, QR, Data
Matrix, two columns). :func:`render` draws it once, as a 1-bit Pillow image of the
profile's width (384 dots for 58 mm, 576 for 80 mm); the PNG preview is that image,
and :func:`encode_escpos` sends that same image as ESC/POS raster (``GS v 0``).

Accents: raster, not code pages. The text is drawn with DejaVu fonts into the image,
so "é", "ç", "œ" and "€" print identically on every printer; code-page text would
depend on each model's tables (CP858, WPC1252 and CP850 place these letters
differently, and "œ" exists in none of them), and the password would be printed in
the printer's own font, where 0/O and 1/l/I can look alike. Raster also makes the
PNG exactly what the paper shows. It costs bytes (72 per row at 80 mm, ~60 KB per
receipt), which USB and TCP carry in well under a second.

The temporary password is printed in DejaVu Sans Mono Bold (dotted zero, serifed I,
tailed l, flagged 1) in groups of four (ARCHITECTURE.md §8). The patient appears by
first name and the initial of the family name only.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kiosk.domain.datamatrix import payload_for
from kiosk.domain.ins import Identity
from kiosk.errors import PrinterError
from kiosk.locale import msg
from kiosk.printing.catalogue import wording
from kiosk.printing.ports import JobKind, PrintJob
from kiosk.printing.profiles import PrinterProfile
from kiosk.printing.symbols import datamatrix_image, qr_image

__all__ = [
    "Align",
    "Columns",
    "DataMatrix",
    "Gap",
    "Layout",
    "Qr",
    "ReceiptContent",
    "Rule",
    "Style",
    "Text",
    "TicketContent",
    "diagnostic_layout",
    "encode_escpos",
    "group_password",
    "label_layout",
    "png_bytes",
    "print_job",
    "receipt_layout",
    "render",
    "ticket_layout",
]

_FONT_DIRS: Final = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_MARGIN: Final = 8
_BAND_ROWS: Final = 128
"""Raster rows per ``GS v 0`` command; small bands fit the input buffer of cheap printers."""


class Style(Enum):
    """Typographic roles; sizes follow the paper width."""

    SMALL = "small"
    BODY = "body"
    BOLD = "bold"
    TITLE = "title"
    CREDENTIAL = "credential"


class Align(Enum):
    """Horizontal placement of a block."""

    LEFT = "left"
    CENTER = "center"


@dataclass(frozen=True)
class Text:
    """A paragraph, wrapped at word boundaries to the available width."""

    text: str = field(repr=False)
    style: Style = Style.BODY
    align: Align = Align.LEFT
    fixed: bool = False
    """Catalogue wording, the same on every page: its bitmap may be cached (never personal data)."""


@dataclass(frozen=True)
class Gap:
    """Blank vertical space, in dots."""

    dots: int


@dataclass(frozen=True)
class Rule:
    """A horizontal line across the printable width."""


@dataclass(frozen=True)
class Qr:
    """A QR code of a public address (portal, test page), centred; its bitmap may be cached."""

    text: str
    module_px: int = 4


@dataclass(frozen=True)
class DataMatrix:
    """A square Data Matrix (the INS symbol), centred in its column."""

    payload: str = field(repr=False)
    module_px: int = 4


@dataclass(frozen=True)
class Columns:
    """Two stacks side by side; ``left_dots`` is the left column's width."""

    left: tuple[Block, ...]
    right: tuple[Block, ...]
    left_dots: int


Block = Text | Gap | Rule | Qr | DataMatrix | Columns


@dataclass(frozen=True)
class Layout:
    """A page: blocks from top to bottom, and a minimum height (label stock)."""

    blocks: tuple[Block, ...]
    min_height: int = 0

    def __repr__(self) -> str:
        return f"Layout({len(self.blocks)} blocks)"


@dataclass(frozen=True)
class ReceiptContent:
    """What a credentials receipt says (DMP web account, DOMAIN.md §1)."""

    establishment: str
    printed_at: datetime
    first_name: str
    family_name: str
    account_id: str
    temporary_password: str
    portal_url: str
    lang: str = "fr"

    def __repr__(self) -> str:
        return f"ReceiptContent(establishment={self.establishment!r}, lang={self.lang!r}, …)"


@dataclass(frozen=True)
class TicketContent:
    """What a route-to-desk ticket says: where to go and why; nothing of the patient."""

    establishment: str
    printed_at: datetime
    reason_code: str
    reason: str
    """The reason in the patient's language."""
    lang: str = "fr"


def group_password(password: str) -> str:
    """The password in groups of four characters, easier to copy without error."""
    return " ".join(password[i : i + 4] for i in range(0, len(password), 4))


def _local(moment: datetime) -> datetime:
    try:
        return moment.astimezone(ZoneInfo("Europe/Paris"))
    except ZoneInfoNotFoundError:  # an image without tzdata still prints, in UTC
        return moment


def receipt_layout(content: ReceiptContent) -> Layout:
    """The credentials receipt, in the patient's language."""
    w = wording(content.lang)
    when = _local(content.printed_at)
    initial = content.family_name[:1].upper()
    printed = w.printed_on.format(date=f"{when:%d/%m/%Y}", time=f"{when:%H:%M}")
    colon = " : " if content.lang == "fr" else ": "  # French typography: space before colon
    return Layout(
        (
            Text(content.establishment, Style.BOLD, Align.CENTER),
            Text(printed, Style.SMALL, Align.CENTER),
            Gap(10),
            Text(w.receipt_title, Style.TITLE, Align.CENTER, fixed=True),
            Text(w.receipt_subtitle, Style.BODY, Align.CENTER, fixed=True),
            Rule(),
            Text(f"{w.patient}{colon}{content.first_name} {initial}."),
            Gap(6),
            Text(w.account_id, Style.SMALL, Align.LEFT, fixed=True),
            Text(content.account_id, Style.BOLD),
            Gap(6),
            Text(w.credential_caption, Style.SMALL, Align.LEFT, fixed=True),
            Text(group_password(content.temporary_password), Style.CREDENTIAL, Align.CENTER),
            Text(w.credential_hint, Style.SMALL, Align.LEFT, fixed=True),
            Rule(),
            Text(w.portal, Style.SMALL, Align.LEFT, fixed=True),
            Text(content.portal_url, Style.BOLD),
            Gap(6),
            Qr(content.portal_url),
            Text(w.scan_me, Style.SMALL, Align.CENTER, fixed=True),
            Rule(),
            Text(w.next_steps_title, Style.BOLD, Align.LEFT, fixed=True),
            *(Text(step, Style.BODY, fixed=True) for step in w.next_steps),
            Gap(6),
            # Seed 001: the sheet "sur lequel est rappelée la nécessité du consentement préalable".
            Text(w.consent_reminder, Style.SMALL, Align.LEFT, fixed=True),
            Gap(8),
            Text(w.keep_safe, Style.SMALL, Align.CENTER, fixed=True),
        )
    )


def label_layout(identity: Identity, profile: PrinterProfile, *, lang: str = "fr") -> Layout:
    """The INS label of a qualified identity: Data Matrix, "INS" caption, traits on the right.

    Any other identity is refused (``IdentityNotQualified``): only a qualified identity
    may carry its INS on a document (DOMAIN.md §2, RNIV).
    """
    payload = payload_for(identity)  # checks ins_for_transmission() first
    w = wording(lang)
    left = profile.width_dots * 9 // 20
    t = identity.traits
    traits = (
        (w.label_family_name, t.birth_family_name),
        (w.label_given_names, t.given_names_joined),
        (w.label_sex, t.sex.value),
        (w.label_birth_date, f"{t.birth_date:%d/%m/%Y}"),
        (w.label_birth_place, t.birth_place),
    )
    right: list[Block] = []
    for caption, value in traits:
        right += [Text(caption, Style.SMALL), Text(value, Style.BOLD)]
    return Layout(
        (
            Columns(
                (
                    DataMatrix(payload, module_px=3 if left < 200 else 4),
                    Text(w.label_caption, Style.TITLE, Align.CENTER, fixed=True),
                ),
                tuple(right),
                left,
            ),
        ),
        min_height=profile.label_height_dots,
    )


def ticket_layout(content: TicketContent) -> Layout:
    """The self-service kiosk's ticket for the desk: the reason's code, its words, the time."""
    w = wording(content.lang)
    when = _local(content.printed_at)
    printed = w.printed_on.format(date=f"{when:%d/%m/%Y}", time=f"{when:%H:%M}")
    return Layout(
        (
            Text(content.establishment, Style.BOLD, Align.CENTER),
            Text(printed, Style.SMALL, Align.CENTER),
            Gap(10),
            Text(w.ticket_title, Style.TITLE, Align.CENTER, fixed=True),
            Rule(),
            Text(content.reason_code, Style.CREDENTIAL, Align.CENTER),
            Text(content.reason, Style.BODY, Align.CENTER),
            Rule(),
            Text(w.ticket_hint, Style.SMALL, Align.LEFT, fixed=True),
        )
    )


def diagnostic_layout(profile: PrinterProfile, *, lang: str = "fr") -> Layout:
    """A test page: the profile, an accent line, the password font and a QR."""
    w = wording(lang)
    return Layout(
        (
            Text(w.test_title, Style.TITLE, Align.CENTER, fixed=True),
            Rule(),
            Text(f"{w.test_profile} : {profile.name} ({profile.key})"),
            Text(f"{w.test_width} : {profile.width_mm} mm, {profile.width_dots} dots"),
            Text(w.test_accents, Style.BODY, Align.LEFT, fixed=True),
            Text("0O 1lI 5S 8B", Style.CREDENTIAL, Align.CENTER),
            Rule(),
            Qr(f"kiosk test {profile.key} {profile.width_dots}"),
            Text(w.test_qr, Style.SMALL, Align.CENTER, fixed=True),
        )
    )


# --- rendering ------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _font(style: Style, width: int) -> ImageFont.FreeTypeFont:
    wide = width >= 576
    name, size = {
        Style.SMALL: ("DejaVuSans.ttf", 18 if wide else 16),
        Style.BODY: ("DejaVuSans.ttf", 24 if wide else 20),
        Style.BOLD: ("DejaVuSans-Bold.ttf", 24 if wide else 20),
        Style.TITLE: ("DejaVuSans-Bold.ttf", 34 if wide else 28),
        Style.CREDENTIAL: ("DejaVuSansMono-Bold.ttf", 52 if wide else 40),
    }[style]
    for directory in _FONT_DIRS:
        path = directory / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    raise PrinterError(
        msg("printing.receipt.font"),
        detail=name,
    )


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def _text(text: str, style: Style, align: Align, width: int, page_width: int) -> Image.Image:
    font = _font(style, page_width)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent + 2
    lines = _wrap(text, font, width)
    img = Image.new("1", (width, line_h * len(lines)), 1)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        x = 0 if align is Align.LEFT else max(0, int((width - font.getlength(line)) / 2))
        draw.text((x, i * line_h), line, font=font, fill=0)
    return img


# Text drawing is most of a receipt's cost (FIELD-NOTES budget: 25 ms); the wording
# lines repeat on every receipt, so their bitmaps are kept. Only ``fixed`` texts come
# here: a name or a password must not outlive its session in a cache.
_fixed_text = lru_cache(maxsize=256)(_text)


@lru_cache(maxsize=8)
def _portal_qr(text: str, module_px: int) -> Image.Image:
    # QR codes here carry public addresses (portal, test page), the same on every receipt;
    # the INS Data Matrix carries personal data and is never cached.
    return qr_image(text, module_px=module_px, quiet_modules=2)


def _block(block: Block, width: int, page_width: int) -> Image.Image:
    if isinstance(block, Gap):
        return Image.new("1", (width, block.dots), 1)
    if isinstance(block, Rule):
        img = Image.new("1", (width, 12), 1)
        ImageDraw.Draw(img).line([(0, 5), (width - 1, 5)], fill=0, width=2)
        return img
    if isinstance(block, Text):
        if block.fixed:
            return _fixed_text(block.text, block.style, block.align, width, page_width)
        return _text(block.text, block.style, block.align, width, page_width)
    if isinstance(block, Qr | DataMatrix):
        symbol = (
            _portal_qr(block.text, block.module_px)
            if isinstance(block, Qr)
            else datamatrix_image(block.payload, module_px=block.module_px, quiet_modules=2)
        ).convert("1")
        img = Image.new("1", (width, symbol.height), 1)
        img.paste(symbol, (max(0, (width - symbol.width) // 2), 0))
        return img
    left = _stack(block.left, block.left_dots, page_width)
    right = _stack(block.right, width - block.left_dots - _MARGIN, page_width)
    img = Image.new("1", (width, max(left.height, right.height)), 1)
    img.paste(left, (0, 0))
    img.paste(right, (block.left_dots + _MARGIN, 0))
    return img


def _stack(blocks: Sequence[Block], width: int, page_width: int) -> Image.Image:
    parts = [_block(b, width, page_width) for b in blocks]
    img = Image.new("1", (width, sum(p.height for p in parts) or 1), 1)
    y = 0
    for part in parts:
        img.paste(part, (0, y))
        y += part.height
    return img


def render(layout: Layout, width_dots: int) -> Image.Image:
    """Draw the page as a 1-bit image ``width_dots`` wide (what the printer will print)."""
    body = _stack(layout.blocks, width_dots - 2 * _MARGIN, width_dots)
    height = max(body.height + 2 * _MARGIN, layout.min_height)
    page = Image.new("1", (width_dots, height), 1)
    page.paste(body, (_MARGIN, _MARGIN))
    return page


def png_bytes(image: Image.Image) -> bytes:
    """The PNG file of a rendered page."""
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()


def print_job(job_id: str, kind: JobKind, layout: Layout, profile: PrinterProfile) -> PrintJob:
    """``layout`` drawn once for ``profile``: its ESC/POS bytes and the PNG of the same page."""
    image = render(layout, profile.width_dots)
    return PrintJob(
        job_id, kind, encode_escpos(image, profile), png_bytes(image), profile.width_dots
    )


def encode_escpos(image: Image.Image, profile: PrinterProfile) -> bytes:
    """ESC/POS for a rendered page: init, raster bands (``GS v 0``), feed, cut if any."""
    if image.width != profile.width_dots or image.width % 8:
        raise PrinterError(
            msg("printing.receipt.encode_escpos"),
            detail=f"image {image.width} dots, profile {profile.width_dots}",
        )
    black = ~np.asarray(image.convert("1"), dtype=bool)  # True where the head burns a dot
    packed = np.packbits(black, axis=1)
    row_bytes = packed.shape[1]
    out = bytearray(b"\x1b@")
    for top in range(0, packed.shape[0], _BAND_ROWS):
        band = packed[top : top + _BAND_ROWS]
        rows = band.shape[0]
        out += b"\x1dv0\x00" + bytes((row_bytes & 0xFF, row_bytes >> 8, rows & 0xFF, rows >> 8))
        out += band.tobytes()
    out += b"\x1bd" + bytes((profile.feed_lines,))
    if profile.cutter:
        out += b"\x1dVB\x00"
    return bytes(out)
