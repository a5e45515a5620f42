"""Receipt and label layouts: reference images, decodable symbols, privacy, ESC/POS framing."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from kiosk.domain.ins import IdentityStatus
from kiosk.errors import ConfigError, IdentityError, PrinterError
from kiosk.printing.ports import JobKind, PrintJob
from kiosk.printing.profiles import PrinterProfile, load_profile, profile_names
from kiosk.printing.receipt import (
    Style,
    Text,
    TicketContent,
    diagnostic_layout,
    encode_escpos,
    group_password,
    label_layout,
    png_bytes,
    receipt_layout,
    render,
    ticket_layout,
)
from tests.printing.conftest import (
    LABEL_PAYLOAD,
    PASSWORD,
    PORTAL,
    VECTORS,
    differing_fraction,
    identity,
    receipt,
)
from tests.vectors_regen import regenerating

TOLERANCE = 0.005
"""Share of pixels allowed to differ from a reference (font hinting across FreeType builds)."""

REGENERATE = regenerating()  # KIOSK_REGEN_VECTORS=1


def _reference(name: str, image: Image.Image) -> Image.Image:
    path = VECTORS / name
    if REGENERATE:
        image.save(path)
    with Image.open(path) as reference:
        reference.load()
        return reference


def _without_symbols(image: Image.Image) -> Image.Image:
    """The page with its barcodes blanked: their pixels belong to the encoder, which has its
    own tests, and are checked here by decoding instead."""
    page = image.convert("1")
    draw = ImageDraw.Draw(page)
    for found in zxingcpp.read_barcodes(page):
        corners = found.position
        xs = [
            corners.top_left.x,
            corners.top_right.x,
            corners.bottom_left.x,
            corners.bottom_right.x,
        ]
        ys = [
            corners.top_left.y,
            corners.top_right.y,
            corners.bottom_left.y,
            corners.bottom_right.y,
        ]
        draw.rectangle((min(xs) - 8, min(ys) - 8, max(xs) + 8, max(ys) + 8), fill=1)
    return page


def _same_page(image: Image.Image, reference: Image.Image) -> bool:
    return differing_fraction(_without_symbols(image), _without_symbols(reference)) <= TOLERANCE


def _read(image: Image.Image, fmt: zxingcpp.BarcodeFormat) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(image, formats=fmt, text_mode=zxingcpp.TextMode.Plain))


@pytest.mark.parametrize(
    ("profile_name", "lang"),
    [("generic-58mm", "fr"), ("generic-80mm", "fr"), ("generic-80mm", "en")],
)
def test_receipt_matches_its_reference_image(profile_name: str, lang: str) -> None:
    profile = load_profile(profile_name)
    image = render(receipt_layout(receipt(lang)), profile.width_dots)
    reference = _reference(f"receipt-{profile.width_dots}-{lang}.png", image)
    assert image.width == profile.width_dots
    assert abs(image.height - reference.height) <= 4
    assert _same_page(image, reference)


def test_label_matches_its_reference_image() -> None:
    profile = load_profile("label-58mm")
    image = render(label_layout(identity(), profile), profile.width_dots)
    reference = _reference("label-384.png", image)
    assert image.size == (384, profile.label_height_dots)
    assert _same_page(image, reference)


@pytest.mark.parametrize("width", [384, 576])
def test_receipt_qr_decodes_to_the_portal_address(width: int) -> None:
    image = Image.open(io.BytesIO(png_bytes(render(receipt_layout(receipt()), width))))
    found = _read(image, zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [PORTAL]


@pytest.mark.parametrize("profile_name", ["label-58mm", "generic-80mm"])
def test_label_datamatrix_decodes_to_the_exact_payload_with_gs(profile_name: str) -> None:
    profile = load_profile(profile_name)
    image = Image.open(
        io.BytesIO(png_bytes(render(label_layout(identity(), profile), profile.width_dots)))
    )
    found = _read(image, zxingcpp.BarcodeFormat.DataMatrix)
    assert [b.bytes for b in found] == [LABEL_PAYLOAD.encode()]
    assert found[0].position.top_left.x < image.width // 2  # symbol on the left, traits right


@pytest.mark.parametrize("status", [IdentityStatus.PROV, IdentityStatus.RECUP, IdentityStatus.VALI])
def test_a_label_is_refused_for_an_identity_that_is_not_qualified(status: IdentityStatus) -> None:
    with pytest.raises(IdentityError) as caught:
        label_layout(identity(status), load_profile("label-58mm"))
    assert "qualifiée" in caught.value.message("fr")
    assert "qualified" in caught.value.message("en")


def _texts(profile_lang: str = "fr") -> list[Text]:
    return [b for b in receipt_layout(receipt(profile_lang)).blocks if isinstance(b, Text)]


def test_receipt_names_the_patient_by_first_name_and_initial_only() -> None:
    texts = " ".join(t.text for t in _texts())
    assert "Marie E." in texts
    assert "Essai" not in texts


def test_password_is_printed_in_groups_in_the_unambiguous_font() -> None:
    credential = [t for t in _texts() if t.style is Style.CREDENTIAL]
    assert [t.text for t in credential] == ["K7P0 QZ1L 9XW3"]


def test_receipt_speaks_the_session_language() -> None:
    assert any("Prochaines étapes" in t.text for t in _texts("fr"))
    english = " ".join(t.text for t in _texts("en"))
    assert "Next steps" in english
    assert "Prochaines" not in english


@pytest.mark.parametrize(
    ("lang", "words"), [("fr", "consentement préalable"), ("en", "prior consent")]
)
def test_the_receipt_restates_that_consent_was_required(lang: str, words: str) -> None:
    """Seed 001: the sheet « sur lequel est rappelée la nécessité du consentement préalable »."""
    assert any(words in t.text for t in _texts(lang))


@given(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abc", max_size=40))
def test_password_groups_keep_every_character_in_order(password: str) -> None:
    grouped = group_password(password)
    assert grouped.replace(" ", "") == password
    assert all(1 <= len(g) <= 4 for g in grouped.split(" ") if password)


def test_nothing_personal_leaks_through_repr(profile80: PrinterProfile) -> None:
    content = receipt()
    image = render(receipt_layout(content), 576)
    job = PrintJob("job-1", JobKind.RECEIPT, encode_escpos(image, profile80), b"png", 576)
    for text in (repr(content), repr(job), repr(receipt_layout(content))):
        assert PASSWORD not in text
        assert "Essai" not in text
        assert "277076322082910" not in text


def _framing(data: bytes) -> list[tuple[str, int]]:
    """Commands and their sizes, the raster payload left out."""
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(data):
        if data[i : i + 4] == b"\x1dv0\x00":
            xb = data[i + 4] | data[i + 5] << 8
            rows = data[i + 6] | data[i + 7] << 8
            out.append(("raster", xb))
            i += 8 + xb * rows
        else:
            out.append((data[i : i + 2].hex(), 0))
            i += {b"\x1b@": 2, b"\x1bd": 3, b"\x1dV": 4}[data[i : i + 2]]
    return out


def _raster(data: bytes, width: int) -> Image.Image:
    rows: list[np.ndarray] = []
    i = 0
    while (i := data.find(b"\x1dv0\x00", i)) >= 0:
        xb, n = data[i + 4] | data[i + 5] << 8, data[i + 6] | data[i + 7] << 8
        band = np.frombuffer(data[i + 8 : i + 8 + xb * n], dtype=np.uint8).reshape(n, xb)
        rows.append(np.unpackbits(band, axis=1).astype(bool))
        i += 8 + xb * n
    return Image.fromarray(np.where(np.vstack(rows), 0, 255).astype(np.uint8)).convert("1")


def test_escpos_matches_the_golden_bytes(profile80: PrinterProfile) -> None:
    image = render(receipt_layout(receipt()), 576)
    data = encode_escpos(image, profile80)
    path = VECTORS / "receipt-576-fr.escpos"
    if REGENERATE:
        path.write_bytes(data)
    golden = path.read_bytes()
    assert _framing(data)[:1] == [("1b40", 0)]
    assert _framing(data)[-2:] == [("1b64", 0), ("1d56", 0)]  # feed, then cut (80 mm cutter)
    assert abs(len(data) - len(golden)) <= 72 * 4
    assert _same_page(_raster(data, 576), _raster(golden, 576))


def test_escpos_raster_is_the_png_dot_for_dot(profile58: PrinterProfile) -> None:
    image = render(receipt_layout(receipt()), 384)
    data = encode_escpos(image, profile58)
    assert differing_fraction(_raster(data, 384), image) == 0.0
    assert b"\x1dV" not in data[-4:]  # the 58 mm profile has no cutter


def test_a_layout_of_the_wrong_width_is_refused(profile58: PrinterProfile) -> None:
    with pytest.raises(PrinterError):
        encode_escpos(render(receipt_layout(receipt()), 576), profile58)


def test_profiles_give_the_two_paper_widths() -> None:
    assert {"generic-58mm", "generic-80mm"} <= set(profile_names())
    assert load_profile("generic-58mm").width_dots == 384
    assert load_profile("generic-80mm").width_dots == 576
    assert load_profile("generic-80mm").usb


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile("no-such-printer")
    assert "generic-80mm" in caught.value.message("en")


def test_test_page_carries_the_profile_and_a_readable_qr(profile58: PrinterProfile) -> None:
    image = render(diagnostic_layout(profile58), 384)
    found = _read(image, zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == ["kiosk test generic-58mm 384"]


@pytest.mark.parametrize("width", [384, 576])
def test_the_desk_ticket_says_where_to_go_and_why_in_the_patients_language(width: int) -> None:
    content = TicketContent(
        "Centre hospitalier de démonstration",
        datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        "BL-05",
        "For a minor patient, the legal representative consents at the desk.",
        "en",
    )
    layout = ticket_layout(content)
    texts = [block.text for block in layout.blocks if isinstance(block, Text)]
    assert "BL-05" in texts
    assert "Please go to the admission desk" in texts
    assert render(layout, width).width == width
