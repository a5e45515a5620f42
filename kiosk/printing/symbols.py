"""Barcode symbols as Pillow images: the INS Data Matrix and the QR codes of receipts.

The only module of ours that creates barcodes (zxing-cpp's encoder); decoding lives in
``kiosk.scanning.images``. zxing-cpp is chosen over ``qrcode``/``segno`` because it
makes a QR in ~1 ms against ~16 ms (FIELD-NOTES.md "Barcodes").
"""

from __future__ import annotations

from typing import Final

import numpy as np
import zxingcpp
from PIL import Image

from kiosk.errors import InvalidInput
from kiosk.locale import msg

__all__ = ["EC_LEVELS", "datamatrix_image", "qr_image"]

EC_LEVELS: Final = ("L", "M", "Q", "H")
"""QR error-correction levels, from ~7 % to ~30 % of the symbol recoverable."""

_WHITE: Final = 255


def datamatrix_image(
    payload: bytes | str, *, module_px: int = 4, quiet_modules: int = 2
) -> Image.Image:
    """A square ECC200 Data Matrix of ``payload`` (bytes kept exactly, GS included), mode "L"."""
    # The INS symbol is square (DOMAIN.md §3); zxing-cpp picks a rectangle for short
    # payloads unless told, and ignores misspelt options silently: the spelling
    # ``forceSquare`` is load-bearing (FIELD-NOTES.md "Barcodes").
    _check_geometry(module_px, quiet_modules)
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    # Given bytes, the encoder flags the symbol as binary, and other readers (libdmtx,
    # scanners in keyboard mode) then prefix the content ("01\n"); ASCII given as text
    # is plain ECC200 that every reader returns unchanged. Other bytes stay binary.
    content: bytes | str = data.decode("ascii") if data.isascii() else data
    barcode = _create(content, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)
    return _render(barcode, module_px, quiet_modules)


def qr_image(
    text: str, *, module_px: int = 4, quiet_modules: int = 4, ec_level: str = "M"
) -> Image.Image:
    """A QR code of ``text`` at error-correction level ``ec_level`` (L, M, Q or H), mode "L"."""
    _check_geometry(module_px, quiet_modules)
    if ec_level not in EC_LEVELS:
        raise InvalidInput(
            msg("printing.symbols.qr_image", ec_level=ec_level),
        )
    # Without an ECI, non-ASCII text is written as ISO-8859-x bytes that readers guess
    # as Shift_JIS ("¡" reads "｡"); UTF-8 with an ECI reads back exactly everywhere.
    charset = {} if text.isascii() else {"eci": "UTF-8"}
    barcode = _create(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level, **charset)
    return _render(barcode, module_px, quiet_modules)


def _check_geometry(module_px: int, quiet_modules: int) -> None:
    if module_px < 1 or quiet_modules < 0:
        raise InvalidInput(
            msg("printing.symbols.check_geometry"),
            detail=f"module_px={module_px} quiet_modules={quiet_modules}",
        )


def _create(
    content: bytes | str, fmt: zxingcpp.BarcodeFormat, **options: object
) -> zxingcpp.Barcode:
    if not content:
        raise InvalidInput(
            msg("printing.symbols.create"),
        )
    try:
        return zxingcpp.create_barcode(content, fmt, **options)
    except ValueError as exc:  # too long for the largest symbol, or unencodable
        raise InvalidInput(
            msg("printing.symbols.create_2"),
            detail=f"{fmt}: {exc} ({len(content)} characters or bytes)",
        ) from exc


def _render(barcode: zxingcpp.Barcode, module_px: int, quiet_modules: int) -> Image.Image:
    # zxing-cpp's own quiet zones differ per format; draw the symbol bare and add ours.
    modules = np.asarray(barcode.to_image(scale=module_px, add_quiet_zones=False), dtype=np.uint8)
    border = quiet_modules * module_px
    framed = np.pad(modules, border, mode="constant", constant_values=_WHITE)
    return Image.fromarray(framed)  # 2-D uint8 → mode "L"
