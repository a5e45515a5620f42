"""``kiosk ins encode`` then ``decode``: a clean image, a degraded photo of it, a raw payload."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from tests.cli.conftest import RunKiosk

TEST_OID = "1.2.250.1.213.1.4.10"
PROD_OID = "1.2.250.1.213.1.4.8"
IDENTITY = [
    "--nir", "277076322082910",
    "--given", "Marie-Anne Élise",
    "--family", "D'Arcy-Lefèvre",
    "--sex", "F",
    "--birth-date", "1977-07-14",
    "--birth-place", "63220",
]  # fmt: skip


def _encode(kiosk: RunKiosk, out: Path, *extra: str) -> None:
    done = kiosk("ins", "encode", *IDENTITY, "--oid", TEST_OID, "-o", str(out), *extra)
    assert done.returncode == 0, done.stderr


def _photo_of(src: Path, dst: Path) -> None:
    """A desk-camera-like photo: small in a large frame, rotated, blurred, noisy, dim."""
    code = Image.open(src).convert("L")
    frame = Image.new("L", (1280, 720), 200)
    code = code.rotate(17, expand=True, fillcolor=200, resample=Image.Resampling.BICUBIC)
    frame.paste(code, (400, 120))
    frame = frame.filter(ImageFilter.GaussianBlur(1.2))
    rng = np.random.default_rng(7)
    pixels = np.asarray(frame, dtype=np.float32) * 0.6 + 60 + rng.normal(0, 6, (720, 1280))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(dst, quality=80)


def test_encode_then_decode_image_and_degraded_photo(kiosk: RunKiosk, tmp_path: Path) -> None:
    png = tmp_path / "ins.png"
    _encode(kiosk, png, "--qualified")
    with Image.open(png) as image:
        assert image.width == image.height  # the INS symbol is square (DOMAIN.md §3)
    photo = tmp_path / "photo.jpg"
    _photo_of(png, photo)
    for source in (png, photo):
        done = kiosk("ins", "decode", "--json", "--show", str(source))
        assert done.returncode == 0, done.stderr
        record = json.loads(done.stdout)
        assert record["ins"] == "277076322082910"
        assert record["oid"] == TEST_OID
        assert record["family_name"] == "D'ARCY-LEFEVRE"
        assert record["given_names"] == "MARIE-ANNE ELISE"
        assert record["birth_date"] == "1977-07-14"


def test_decode_masks_the_nir_unless_shown(kiosk: RunKiosk, tmp_path: Path) -> None:
    png = tmp_path / "ins.png"
    _encode(kiosk, png, "--qualified")
    done = kiosk("ins", "decode", str(png))
    assert done.returncode == 0
    assert "277076322082910" not in done.stdout
    assert "D'ARCY-LEFEVRE" in done.stdout


def test_encode_requires_qualified_identity(kiosk: RunKiosk, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    done = kiosk("ins", "encode", *IDENTITY, "--oid", TEST_OID, "-o", str(out))
    assert done.returncode == 1
    assert "qualifi" in done.stderr
    assert not out.exists()


def test_test_configuration_refuses_production_oid(kiosk: RunKiosk, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    done = kiosk("ins", "encode", *IDENTITY, "--oid", PROD_OID, "-o", str(out), "--qualified")
    assert done.returncode == 1
    assert not out.exists()


def test_raw_payload_on_stdin(kiosk: RunKiosk) -> None:
    payload = (
        "IS010000000000000000000000S1277076322082910S21.2.250.1.213.1.4.10\x1d"
        "S3MARIE\x1dS4DUPONT\x1dS5FS614-07-1977S763220"
    )
    done = kiosk("ins", "decode", "--raw", "--json", "-", input=payload)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["family_name"] == "DUPONT"


def test_garbled_payload_says_which_field(kiosk: RunKiosk) -> None:
    done = kiosk("ins", "decode", "--raw", "-", input="IS010000000000000000000000S12770")
    assert done.returncode == 1
    assert "S1" in done.stderr
    assert "Traceback" not in done.stderr


def test_image_without_code_exits_2(kiosk: RunKiosk, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (640, 480), 255).save(blank)
    done = kiosk("ins", "decode", str(blank))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_missing_file_exits_2(kiosk: RunKiosk, tmp_path: Path) -> None:
    done = kiosk("ins", "decode", str(tmp_path / "absent.png"))
    assert done.returncode == 2
