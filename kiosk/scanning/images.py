"""Data Matrix and QR decoding in image files and camera frames, with zxing-cpp.

The only module of ours that decodes barcodes (symbols are made by
``kiosk.printing.symbols``). Strategy, from FIELD-NOTES.md "Barcodes": a fast pass
restricted to the wanted formats, without inverted search (printed labels are dark on
light; ``try_invert=False`` halves the time) but with rotation (labels are held at any
angle); only after a miss, rescue passes on the grayscale frame (another binarizer,
inverted search, contrast stretch with sharpening, upscaling) until one reads something.
Bytes are kept raw (``Barcode.bytes``) because the INS payload's GS separators matter
(DOMAIN.md §3).
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import zxingcpp
from PIL import Image, ImageFilter, UnidentifiedImageError

from kiosk.errors import InvalidInput, NotFound
from kiosk.locale import msg

__all__ = [
    "DecodedSymbol",
    "ImageSource",
    "Point",
    "SymbolFormat",
    "decode",
    "decode_async",
    "decode_file",
]

Point: TypeAlias = tuple[int, int]
Gray: TypeAlias = npt.NDArray[np.uint8]
ImageSource: TypeAlias = "Image.Image | npt.NDArray[Any] | bytes | Path"


class SymbolFormat(StrEnum):
    """The 2-D symbologies the kiosk reads."""

    DATAMATRIX = "datamatrix"
    QR = "qr"


_TO_ZXING: Final = {
    SymbolFormat.DATAMATRIX: zxingcpp.BarcodeFormat.DataMatrix,
    SymbolFormat.QR: zxingcpp.BarcodeFormat.QRCode,
}
_ALL: Final = (SymbolFormat.DATAMATRIX, SymbolFormat.QR)
_CHANNELS: Final = {3: zxingcpp.ImageFormat.RGB, 4: zxingcpp.ImageFormat.RGBA}


@dataclass(frozen=True)
class DecodedSymbol:
    """One symbol read in an image: its format, raw bytes and four corners (x, y)."""

    format: SymbolFormat
    data: bytes = field(repr=False)
    position: tuple[Point, Point, Point, Point]
    plain_text: str = field(default="", repr=False, compare=False)

    @property
    def text(self) -> str:
        """The content as text, control characters (GS) kept, ECI charsets applied."""
        return self.plain_text or self.data.decode("utf-8", errors="replace")

    @property
    def centre(self) -> tuple[float, float]:
        """The middle of the four corners, in image pixels."""
        return (
            sum(x for x, _ in self.position) / 4,
            sum(y for _, y in self.position) / 4,
        )

    def __repr__(self) -> str:
        # The content may be an INS with its traits: never shown (STYLE.md §5).
        return (
            f"DecodedSymbol(format={self.format.value}, bytes={len(self.data)}, "
            f"centre={self.centre})"
        )


def decode(
    image: ImageSource,
    *,
    formats: Sequence[SymbolFormat] = _ALL,
    rescue: bool = True,
) -> list[DecodedSymbol]:
    """Every symbol of ``formats`` in ``image``; raises NotFound when none can be read.

    ``image`` is a Pillow image, a grayscale/RGB/RGBA numpy frame, encoded image bytes
    (PNG, JPEG…) or a file path. ``rescue=False`` skips the slower passes after a miss,
    for live video where the next frame comes soon.
    """
    wanted = _zxing_formats(formats)
    source = _as_zxing_input(image)
    found = _read(source, wanted, try_invert=False)
    if not found and rescue:
        gray = source if isinstance(source, np.ndarray) else _colour_to_gray(image)  # type: ignore[arg-type]
        for rescue_pass in _RESCUE_PASSES:
            found = rescue_pass(gray, wanted)
            if found:
                break
    if not found:
        raise NotFound(
            msg("scanning.images.decode"),
            detail=f"formats={','.join(f.value for f in formats)}",
        )
    return found


def decode_file(path: Path) -> list[DecodedSymbol]:
    """Every symbol in the image file at ``path`` (PNG, JPEG, …)."""
    return decode(Path(path))


async def decode_async(
    image: ImageSource, *, formats: Sequence[SymbolFormat] = _ALL, rescue: bool = True
) -> list[DecodedSymbol]:
    """:func:`decode` in a worker thread, so the event loop (TUI, scanner) keeps running."""
    return await asyncio.to_thread(decode, image, formats=formats, rescue=rescue)


# --- input -------------------------------------------------------------------------------


def _as_zxing_input(image: ImageSource) -> Gray | zxingcpp.ImageView:
    """A grayscale array, or a zero-copy view of an RGB(A) frame, as zxing-cpp reads them."""
    if isinstance(image, Path | bytes | bytearray | memoryview):
        return _load(image)
    if isinstance(image, Image.Image):
        return _from_pillow(image, name="image")
    if isinstance(image, np.ndarray):
        return _from_array(image)
    raise InvalidInput(
        msg("scanning.images.as_zxing_input"),
        detail=type(image).__name__,
    )


def _load(source: Path | bytes | bytearray | memoryview) -> Gray:
    name = str(source) if isinstance(source, Path) else "<bytes>"
    try:
        raw = source.read_bytes() if isinstance(source, Path) else bytes(source)
        with Image.open(io.BytesIO(raw)) as opened:
            opened.load()
            return _from_pillow(opened, name=name)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raise InvalidInput(
            msg("scanning.images.load", name=name),
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc


def _from_pillow(image: Image.Image, *, name: str) -> Gray:
    if image.width == 0 or image.height == 0:
        raise InvalidInput(msg("scanning.images.from_pillow", name=name))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent pixels of a PNG label are white paper, not black.
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _from_array(frame: npt.NDArray[Any]) -> Gray | zxingcpp.ImageView:
    if frame.dtype != np.uint8:
        raise InvalidInput(
            msg("scanning.images.from_array_2"),
            detail=f"dtype={frame.dtype}",
        )
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2 and frame.size:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] in _CHANNELS and frame.size:
        frame = np.ascontiguousarray(frame)
        height, width, channels = frame.shape
        return zxingcpp.ImageView(frame, width, height, _CHANNELS[channels])
    raise InvalidInput(
        msg("scanning.images.from_array"),
        detail=f"shape={frame.shape}",
    )


def _colour_to_gray(frame: npt.NDArray[np.uint8]) -> Gray:
    """ITU-R BT.601 luma of an RGB(A) frame, transparent pixels counted as white paper."""
    rgb = frame[:, :, :3].astype(np.float32)
    if frame.shape[2] == 4:
        opacity = frame[:, :, 3:4].astype(np.float32) / np.float32(255)
        rgb = (rgb * opacity + np.float32(255) * (np.float32(1) - opacity)).astype(np.float32)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(luma, 0, 255).astype(np.uint8)


# --- passes ------------------------------------------------------------------------------


def _zxing_formats(formats: Sequence[SymbolFormat]) -> zxingcpp.BarcodeFormats:
    if not formats:
        raise InvalidInput(msg("scanning.images.zxing_formats"))
    return zxingcpp.BarcodeFormats([_TO_ZXING[SymbolFormat(fmt)] for fmt in formats])


def _read(
    source: Gray | zxingcpp.ImageView,
    formats: zxingcpp.BarcodeFormats,
    *,
    try_invert: bool,
    binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage,
    scale: float = 1.0,
) -> list[DecodedSymbol]:
    try:
        barcodes = zxingcpp.read_barcodes(
            source,
            formats=formats,
            try_rotate=True,
            try_downscale=True,
            try_invert=try_invert,
            binarizer=binarizer,
            text_mode=zxingcpp.TextMode.Plain,
        )
    except (ValueError, RuntimeError) as exc:  # a buffer zxing-cpp cannot take
        raise InvalidInput(
            msg("scanning.images.read"),
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    return _unique(_symbol(barcode, scale) for barcode in barcodes)


def _symbol(barcode: zxingcpp.Barcode, scale: float) -> DecodedSymbol:
    p = barcode.position
    corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    fmt = (
        SymbolFormat.DATAMATRIX
        if barcode.format == zxingcpp.BarcodeFormat.DataMatrix
        else SymbolFormat.QR
    )
    position = tuple((round(c.x / scale), round(c.y / scale)) for c in corners)
    return DecodedSymbol(
        format=fmt,
        data=bytes(barcode.bytes),
        position=position,  # type: ignore[arg-type]  # always four corners
        plain_text=barcode.text,
    )


def _unique(symbols: Iterable[DecodedSymbol]) -> list[DecodedSymbol]:
    """Symbols with one copy each: the same content at (nearly) the same place is one symbol."""
    kept: list[DecodedSymbol] = []
    for symbol in symbols:
        if not any(_same(symbol, other) for other in kept):
            kept.append(symbol)
    return kept


def _same(a: DecodedSymbol, b: DecodedSymbol) -> bool:
    if a.format != b.format or a.data != b.data:
        return False
    (ax, ay), (bx, by) = a.centre, b.centre
    size = max(abs(a.position[0][0] - a.position[2][0]), abs(a.position[0][1] - a.position[2][1]))
    return math.hypot(ax - bx, ay - by) <= max(size, 8)


def _stretch(gray: Gray) -> Gray:
    """Spread the 1st–99th percentiles over 0–255: rescues washed-out, low-contrast photos."""
    low, high = np.percentile(gray[::4, ::4], (1, 99))
    if high - low < 1:
        return gray
    lut = np.clip((np.arange(256, dtype=np.float32) - low) * (255 / (high - low)), 0, 255)
    stretched: Gray = lut.astype(np.uint8)[gray]
    return stretched


def _sharpen(gray: Gray) -> Gray:
    # Unsharp mask restores module edges that focus blur and JPEG smeared.
    sharp = Image.fromarray(gray).filter(
        ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2)
    )
    return np.asarray(sharp, dtype=np.uint8)


def _upscale(gray: Gray, factor: float) -> Gray:
    # Small modules (2–3 px) fall below what the detector can sample; more pixels help.
    image = Image.fromarray(gray)
    size = (round(image.width * factor), round(image.height * factor))
    return np.asarray(image.resize(size, Image.Resampling.BICUBIC), dtype=np.uint8)


_UP: Final = 2.0

# Ordered by what they rescue per millisecond on the hard frames of tests/imaging.py
# (22 fast-pass misses in 210 frames: global binarizer 2, stretch + sharpen 10,
# upscale 12, upscale + sharpen 12, 14 together); each one rescued some frame the
# others missed. The global binarizer pass also tries inverted symbols, cheaply; the
# full inverted search is last because printed labels are dark on light.
_RESCUE_PASSES: Final[
    tuple[Callable[[Gray, zxingcpp.BarcodeFormats], list[DecodedSymbol]], ...]
] = (
    lambda g, f: _read(g, f, try_invert=True, binarizer=zxingcpp.Binarizer.GlobalHistogram),
    lambda g, f: _read(_sharpen(_stretch(g)), f, try_invert=False),
    lambda g, f: _read(_upscale(g, _UP), f, try_invert=False, scale=_UP),
    lambda g, f: _read(_upscale(_sharpen(g), _UP), f, try_invert=False, scale=_UP),
    lambda g, f: _read(g, f, try_invert=True),
)
