"""Decoding Data Matrix and QR symbols in files and camera frames, as a desk user meets them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from kiosk.errors import InvalidInput, NotFound
from kiosk.printing.symbols import datamatrix_image, qr_image
from kiosk.scanning.images import (
    DecodedSymbol,
    SymbolFormat,
    decode,
    decode_async,
    decode_file,
)
from tests.imaging import blank_frame, degrade, frames, ins_payload, place

GS = b"\x1d"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2026)


@pytest.fixture
def payload(rng: np.random.Generator) -> bytes:
    return ins_payload(rng)


def _photo(
    symbol: Image.Image, rng: np.random.Generator, *, angle: float, contrast: float = 0.8
) -> np.ndarray:
    scene = place(blank_frame(rng), symbol, rng, angle=angle, warp=0.03)
    return degrade(scene, rng, blur=0.6, contrast=contrast, noise=3.0, jpeg_quality=80)


@settings(max_examples=30, deadline=None)
@given(data=st.binary(min_size=1, max_size=200))
def test_datamatrix_bytes_decode_exactly_as_encoded(data: bytes) -> None:
    [symbol] = decode(datamatrix_image(data, module_px=3))
    assert symbol.format is SymbolFormat.DATAMATRIX
    assert symbol.data == data


@settings(max_examples=30, deadline=None)
@given(text=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=120))
def test_qr_text_decodes_exactly_as_encoded(text: str) -> None:
    [symbol] = decode(qr_image(text, module_px=3))
    assert symbol.format is SymbolFormat.QR
    assert symbol.text == text


def test_ins_payload_keeps_its_group_separators(payload: bytes) -> None:
    [symbol] = decode(datamatrix_image(payload))
    assert symbol.data == payload
    assert symbol.data.count(GS) == 2
    assert "\x1d" in symbol.text
    assert "<GS>" not in symbol.text


@pytest.mark.parametrize("angle", [0.0, 90.0, 180.0, 270.0, 37.0, 233.0])
def test_photo_turned_any_way_decodes(
    angle: float, payload: bytes, rng: np.random.Generator
) -> None:
    frame = _photo(datamatrix_image(payload, module_px=4), rng, angle=angle)
    assert [s.data for s in decode(frame)] == [payload]


def test_easy_degraded_frames_all_decode() -> None:
    for frame in frames("easy", 6, seed=3, kinds=("datamatrix", "qr")):
        assert [s.data for s in decode(frame.pixels)] == [frame.payload], frame.params


def test_hard_frames_decode_at_least_as_often_as_a_bare_zxing_call() -> None:
    hard = frames("hard", 16, seed=5)
    ours = bare = 0
    for frame in hard:
        bare_read = any(b.bytes == frame.payload for b in zxingcpp.read_barcodes(frame.pixels))
        try:
            our_read = [s.data for s in decode(frame.pixels)] == [frame.payload]
        except NotFound:
            our_read = False
        assert our_read or not bare_read, frame.params  # never lose what the bare call reads
        ours += our_read
        bare += bare_read
    assert ours >= 15
    assert ours >= bare


def test_every_symbol_of_a_frame_is_returned(rng: np.random.Generator) -> None:
    first, second = ins_payload(rng), ins_payload(rng)
    url = "https://www.monespacesante.fr/activation"
    scene = blank_frame(rng)
    scene = place(scene, datamatrix_image(first), rng, angle=10, warp=0, centre=(200, 200))
    scene = place(scene, datamatrix_image(second), rng, angle=95, warp=0, centre=(640, 500))
    scene = place(scene, qr_image(url), rng, angle=-20, warp=0, centre=(1050, 250))
    found = decode(np.asarray(scene))
    assert sorted((s.format, s.data) for s in found) == sorted(
        [
            (SymbolFormat.DATAMATRIX, first),
            (SymbolFormat.DATAMATRIX, second),
            (SymbolFormat.QR, url.encode()),
        ]
    )
    qr = next(s for s in found if s.format is SymbolFormat.QR)
    x, y = qr.centre
    assert abs(x - 1050) < 30
    assert abs(y - 250) < 30


def test_restricting_formats_ignores_the_others(payload: bytes) -> None:
    image = datamatrix_image(payload)
    with pytest.raises(NotFound):
        decode(image, formats=(SymbolFormat.QR,))
    assert decode(image, formats=(SymbolFormat.DATAMATRIX,))[0].data == payload


def test_frame_without_symbol_says_nothing_found(rng: np.random.Generator) -> None:
    with pytest.raises(NotFound) as caught:
        decode(np.asarray(blank_frame(rng)))
    assert caught.value.message("en") == "No barcode found in the image."
    assert "code-barres" in caught.value.message("fr")


def test_blank_image_is_not_found() -> None:
    with pytest.raises(NotFound):
        decode(Image.new("L", (640, 480), 255))


def test_light_on_dark_symbol_needs_the_rescue_passes(payload: bytes) -> None:
    inverted = ImageOps.invert(datamatrix_image(payload))
    with pytest.raises(NotFound):
        decode(inverted, rescue=False)
    assert decode(inverted)[0].data == payload


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1"])
def test_pillow_images_of_any_common_mode_decode(mode: str, payload: bytes) -> None:
    assert decode(datamatrix_image(payload).convert(mode))[0].data == payload


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_camera_frames_in_gray_rgb_and_rgba_decode(
    channels: int, payload: bytes, rng: np.random.Generator
) -> None:
    gray = _photo(datamatrix_image(payload), rng, angle=12)
    frame = gray if channels == 1 else np.dstack([gray] * 3)
    if channels == 4:
        frame = np.dstack([frame, np.full_like(gray, 255)])
    assert decode(frame)[0].data == payload


def test_transparent_png_label_reads_as_paper(payload: bytes, tmp_path: Path) -> None:
    ink = np.asarray(datamatrix_image(payload)) < 128
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(ink, 255, 0)  # black modules on a transparent background
    path = tmp_path / "label.png"
    Image.fromarray(rgba).save(path)
    assert decode_file(path)[0].data == payload
    assert decode(rgba)[0].data == payload


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_encoded_files_and_bytes_decode(
    fmt: str, payload: bytes, rng: np.random.Generator, tmp_path: Path
) -> None:
    frame = Image.fromarray(_photo(datamatrix_image(payload), rng, angle=200))
    path = tmp_path / f"photo.{fmt.lower()}"
    frame.save(path, format=fmt)
    assert decode_file(path)[0].data == payload
    assert decode(path.read_bytes())[0].data == payload


def test_garbage_bytes_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="Unreadable or corrupt image"):
        decode(b"\x89PNG\r\n\x1a\n not really a picture")


def test_corrupt_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "scan-0042.png"
    buffer = io.BytesIO()
    Image.new("L", (100, 100), 255).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:60])  # truncated
    with pytest.raises(InvalidInput) as caught:
        decode_file(path)
    assert "scan-0042.png" in caught.value.message("en")
    assert "scan-0042.png" in caught.value.message("fr")


def test_missing_file_is_invalid_input_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"absent\.png"):
        decode_file(tmp_path / "absent.png")


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((10, 10), dtype=np.float32),
        np.zeros((10, 10, 2), dtype=np.uint8),
        np.zeros((0, 0), dtype=np.uint8),
    ],
)
def test_frames_of_unexpected_shape_or_type_are_invalid_input(frame: np.ndarray) -> None:
    with pytest.raises(InvalidInput):
        decode(frame)


def test_no_format_requested_is_invalid_input(payload: bytes) -> None:
    with pytest.raises(InvalidInput):
        decode(datamatrix_image(payload), formats=())


def test_repr_does_not_show_the_content(payload: bytes) -> None:
    [symbol] = decode(datamatrix_image(payload))
    shown = repr(symbol)
    nir = payload[28:43].decode()
    assert nir not in shown
    assert "S4" not in shown
    assert "datamatrix" in shown
    assert str(len(payload)) in shown


def test_corners_surround_the_symbol(payload: bytes) -> None:
    image = datamatrix_image(payload, module_px=5, quiet_modules=10)
    [symbol] = decode(image)
    side = image.width - 2 * 50
    xs = sorted(x for x, _ in symbol.position)
    assert abs(xs[0] - 50) <= 2
    assert abs(xs[-1] - (50 + side)) <= 6
    assert isinstance(symbol, DecodedSymbol)


async def test_decode_async_runs_off_the_event_loop(payload: bytes) -> None:
    found = await decode_async(datamatrix_image(payload))
    assert found[0].data == payload


async def test_decode_async_raises_kiosk_errors() -> None:
    with pytest.raises(InvalidInput):  # an unreadable image is the caller's input, not a fault
        await decode_async(b"garbage")
