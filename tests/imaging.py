"""Deterministic camera-like frames holding INS Data Matrix or QR symbols, for tests and benches.

Each frame is a 1280×720 grayscale numpy array: a cluttered desk (gradient light, boxes,
lines, printed text), a white label with the symbol, then the degradations of a phone
or desk-camera photo in the order a camera applies them: rotation (any angle), perspective
warp, blur, low contrast, gaussian noise, JPEG re-compression. Everything is drawn from a
seeded ``numpy`` generator, so ``frames("hard", 40, seed=7)`` is the same list on every
machine. Identities are fictitious, under the INS test OID (DOMAIN.md §7).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from kiosk.printing.symbols import datamatrix_image, qr_image

__all__ = [
    "FRAME_SIZE",
    "GS",
    "TEST_OID",
    "Frame",
    "Level",
    "blank_frame",
    "degrade",
    "fictitious_nir",
    "frames",
    "ins_payload",
    "place",
]

GS = b"\x1d"
TEST_OID = "1.2.250.1.213.1.4.10"
FRAME_SIZE = (1280, 720)
Level = Literal["easy", "hard"]
Kind = Literal["datamatrix", "qr"]

_GIVEN = ("MARIE ANNE", "JEAN", "CAMILLE", "LOUIS PIERRE", "ELODIE", "YANN", "ZOE")
_FAMILY = ("ESSAI", "TEST-FICTIF", "D'EXEMPLE", "MODELE", "PROTOTYPE", "FICTION")


@dataclass(frozen=True)
class Frame:
    """One generated frame, what it holds, and how it was degraded."""

    pixels: np.ndarray
    payload: bytes
    kind: Kind
    params: dict[str, float]


def fictitious_nir(rng: np.random.Generator) -> str:
    """A NIR of a fictitious person with a valid key (key = 97 − body mod 97)."""
    sex = int(rng.integers(1, 3))
    year = int(rng.integers(0, 100))
    month = int(rng.integers(1, 13))
    department = int(rng.integers(1, 96))
    if department == 20:  # Corsica is 2A/2B, not 20 (covered by the fixed vectors)
        department = 21
    body = f"{sex}{year:02d}{month:02d}{department:02d}{int(rng.integers(1, 1000)):03d}"
    body += f"{int(rng.integers(1, 1000)):03d}"
    return body + f"{97 - int(body) % 97:02d}"


def ins_payload(rng: np.random.Generator) -> bytes:
    """An INS Data Matrix payload (DOMAIN.md §3) for a fictitious person under the test OID."""
    nir = fictitious_nir(rng)
    sex = "M" if nir[0] == "1" else "F"
    given = _GIVEN[int(rng.integers(len(_GIVEN)))]
    family = _FAMILY[int(rng.integers(len(_FAMILY)))]
    birth = f"{int(rng.integers(1, 29)):02d}-{nir[3:5]}-19{nir[1:3]}"
    # The test OID is 20 characters, its maximum: no GS after it (DOMAIN.md §3).
    text = (
        f"IS01{'0' * 22}S1{nir}S2{TEST_OID}S3{given}\x1dS4{family}\x1dS5{sex}S6{birth}S7{nir[5:10]}"
    )
    return text.encode("ascii")


def blank_frame(rng: np.random.Generator) -> Image.Image:
    """A cluttered desk without any symbol: light gradient, boxes, lines and printed text."""
    width, height = FRAME_SIZE
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    gx, gy = rng.uniform(-60, 60, size=2)
    light = 150 + gx * x + gy * y + rng.normal(0, 4, size=(height, width))
    image = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, 300)), y0 + int(rng.integers(20, 200))
        draw.rectangle((x0, y0, x1, y1), fill=int(rng.integers(30, 230)))
    for _ in range(int(rng.integers(4, 10))):
        points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(2)]
        draw.line(points, fill=int(rng.integers(0, 255)), width=int(rng.integers(1, 5)))
    for _ in range(int(rng.integers(3, 8))):
        origin = (int(rng.integers(0, width - 200)), int(rng.integers(0, height - 20)))
        draw.text(origin, "Admission  CHU  12/03  n°4471", fill=int(rng.integers(0, 80)))
    return image


def place(
    background: Image.Image,
    symbol: Image.Image,
    rng: np.random.Generator,
    *,
    angle: float,
    warp: float,
    centre: tuple[int, int] | None = None,
) -> Image.Image:
    """Paste ``symbol`` on a white label onto ``background``, rotated and perspective-warped."""
    margin = max(8, symbol.width // 10)
    label = Image.new("L", (symbol.width + 2 * margin, symbol.height + 2 * margin), 245)
    label.paste(symbol, (margin, margin))
    mask = Image.new("L", label.size, 255)
    label = label.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    if warp > 0:
        label, mask = _warp(label, rng, warp), _warp(mask, rng, warp)
    width, height = background.size
    if centre is None:
        cx = int(
            rng.integers(label.width // 2, max(label.width // 2 + 1, width - label.width // 2))
        )
        cy = int(
            rng.integers(label.height // 2, max(label.height // 2 + 1, height - label.height // 2))
        )
    else:
        cx, cy = centre
    framed = background.copy()
    framed.paste(label, (cx - label.width // 2, cy - label.height // 2), mask)
    return framed


def degrade(
    image: Image.Image,
    rng: np.random.Generator,
    *,
    blur: float,
    contrast: float,
    noise: float,
    jpeg_quality: int,
) -> np.ndarray:
    """Blur, squeeze the contrast to ``contrast`` (1 = unchanged), add noise, JPEG round trip."""
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(image, dtype=np.float32)
    mid = float(rng.uniform(90, 170))
    pixels = mid + (pixels - pixels.mean()) * contrast
    pixels += rng.normal(0.0, noise, size=pixels.shape)
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=jpeg_quality)
    buffer.seek(0)
    with Image.open(buffer) as reloaded:
        return np.asarray(reloaded.convert("L")).copy()


def frames(
    level: Level, count: int, *, seed: int, kinds: Sequence[Kind] = ("datamatrix",)
) -> list[Frame]:
    """``count`` frames of ``level``, cycling through ``kinds``; same seed, same frames."""
    rng = np.random.default_rng([seed, 0 if level == "easy" else 1])
    out = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        payload = ins_payload(rng)
        params = _draw_params(level, rng)
        module_px = int(params["module_px"])
        if kind == "datamatrix":
            symbol = datamatrix_image(payload, module_px=module_px, quiet_modules=2)
        else:
            symbol = qr_image(payload.decode("ascii"), module_px=module_px, quiet_modules=4)
        scene = place(blank_frame(rng), symbol, rng, angle=params["angle"], warp=params["warp"])
        pixels = degrade(
            scene,
            rng,
            blur=params["blur"],
            contrast=params["contrast"],
            noise=params["noise"],
            jpeg_quality=int(params["jpeg"]),
        )
        out.append(Frame(pixels=pixels, payload=payload, kind=kind, params=params))
    return out


def _draw_params(level: Level, rng: np.random.Generator) -> dict[str, float]:
    """Degradation parameters; the hard ranges are tuned so a bare zxing call reads ~88 %."""
    right_angle = float(rng.choice([0.0, 90.0, 180.0, 270.0]))
    if level == "easy":
        return {
            "module_px": float(rng.integers(4, 7)),
            "angle": right_angle + float(rng.uniform(-10, 10)),
            "warp": float(rng.uniform(0.0, 0.04)),
            "blur": float(rng.uniform(0.0, 0.8)),
            "contrast": float(rng.uniform(0.7, 1.0)),
            "noise": float(rng.uniform(0.0, 4.0)),
            "jpeg": float(rng.integers(75, 95)),
        }
    return {
        "module_px": float(rng.integers(3, 6)),
        "angle": float(rng.uniform(0, 360)),
        "warp": float(rng.uniform(0.0, 0.08)),
        "blur": float(rng.uniform(0.3, 1.4)),
        "contrast": float(rng.uniform(0.25, 0.8)),
        "noise": float(rng.uniform(2.0, 10.0)),
        "jpeg": float(rng.integers(40, 80)),
    }


def _warp(image: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """A perspective warp moving each corner by up to ``strength`` of the image size."""
    w, h = image.size
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    moved = [
        (x + rng.uniform(-strength, strength) * w, y + rng.uniform(-strength, strength) * h)
        for x, y in corners
    ]
    coeffs = _perspective_coefficients(corners, moved)
    return image.transform(
        (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=0
    )


def _perspective_coefficients(
    target: Sequence[tuple[float, float]], source: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """Pillow's 8 coefficients mapping output points ``target`` to input points ``source``."""
    rows = []
    values = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    solution = np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float))
    assert all(math.isfinite(c) for c in solution)
    return tuple(float(c) for c in solution)
