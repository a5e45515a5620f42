"""Barcode generation: square INS Data Matrix, QR levels, exact bytes, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.errors import InvalidInput
from kiosk.printing.symbols import datamatrix_image, qr_image

GS = b"\x1d"
# Fictitious person under the INS test OID (DOMAIN.md §7 vector 277076322082910).
INS_PAYLOAD = (
    b"IS01" + b"0" * 22 + b"S1277076322082910" + b"S21.2.250.1.213.1.4.10" + GS
    + b"S3MARIE ANNE" + GS + b"S4ESSAI" + GS + b"S5F" + b"S607-07-1977" + b"S763220"
)  # fmt: skip


def _read(image: Image.Image, fmt: zxingcpp.BarcodeFormat) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(image, formats=fmt, text_mode=zxingcpp.TextMode.Plain))


def _dark_bounds(image: Image.Image) -> tuple[int, int, int, int]:
    pixels = np.asarray(image)
    rows = np.flatnonzero((pixels < 128).any(axis=1))
    cols = np.flatnonzero((pixels < 128).any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@pytest.mark.parametrize("payload", [b"IS01" + GS + b"AB", b"x" * 40, INS_PAYLOAD])
def test_datamatrix_is_square_even_for_short_payloads(payload: bytes) -> None:
    # zxing-cpp picks a rectangle for short payloads unless forceSquare is spelt exactly.
    image = datamatrix_image(payload)
    top, bottom, left, right = _dark_bounds(image)
    assert image.width == image.height
    assert bottom - top == right - left


def test_ins_payload_round_trips_with_its_group_separators() -> None:
    found = _read(datamatrix_image(INS_PAYLOAD), zxingcpp.BarcodeFormat.DataMatrix)
    assert [b.bytes for b in found] == [INS_PAYLOAD]


@pytest.mark.filterwarnings("ignore:distutils Version classes:DeprecationWarning")
def test_an_independent_decoder_reads_the_ins_payload_unchanged() -> None:
    # Scanners and other decoders must not see a binary-mode prefix before "IS01".
    from pylibdmtx import pylibdmtx

    found = pylibdmtx.decode(datamatrix_image(INS_PAYLOAD), timeout=5000)
    assert [d.data for d in found] == [INS_PAYLOAD]


def test_text_payload_is_encoded_as_utf8() -> None:
    found = _read(datamatrix_image("S3HÉLÈNE"), zxingcpp.BarcodeFormat.DataMatrix)
    assert found[0].bytes == "S3HÉLÈNE".encode()


def test_module_size_and_quiet_zone_set_the_geometry() -> None:
    small = datamatrix_image(INS_PAYLOAD, module_px=2, quiet_modules=2)
    large = datamatrix_image(INS_PAYLOAD, module_px=6, quiet_modules=2)
    assert large.width == 3 * small.width
    top, _, left, _ = _dark_bounds(large)
    assert (top, left) == (12, 12)
    assert small.mode == "L"


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(min_size=1, max_size=300))
def test_any_bytes_round_trip_through_datamatrix(payload: bytes) -> None:
    found = _read(datamatrix_image(payload, module_px=3), zxingcpp.BarcodeFormat.DataMatrix)
    assert [b.bytes for b in found] == [payload]


@settings(max_examples=40, deadline=None)
@given(text=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200))
def test_any_text_round_trips_through_qr(text: str) -> None:
    found = _read(qr_image(text, module_px=3), zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [text]


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_qr_error_correction_level_is_applied(level: str) -> None:
    found = _read(qr_image("https://www.monespacesante.fr", ec_level=level), zxingcpp.QRCode)
    assert found[0].ec_level == level


def test_higher_error_correction_makes_a_larger_qr() -> None:
    url = "https://www.monespacesante.fr/identifiant/0123456789ABCDEF"
    assert qr_image(url, ec_level="H").width > qr_image(url, ec_level="L").width


def test_unknown_ec_level_is_refused() -> None:
    with pytest.raises(InvalidInput, match="error-correction"):
        qr_image("x", ec_level="Z")


@pytest.mark.parametrize("payload", [b"", ""])
def test_empty_payload_is_refused(payload: bytes | str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        datamatrix_image(payload)


def test_payload_too_long_is_refused_with_a_kiosk_error() -> None:
    with pytest.raises(InvalidInput, match="too long") as caught:
        datamatrix_image(b"x" * 5000)
    assert "5000" in caught.value.detail


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(InvalidInput):
        qr_image("x", module_px=0)
