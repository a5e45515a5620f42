"""The degraded-frame generator is deterministic and uses fictitious identities only."""

from __future__ import annotations

import numpy as np

from tests.imaging import FRAME_SIZE, TEST_OID, fictitious_nir, frames, ins_payload


def test_same_seed_gives_the_same_frames() -> None:
    first = frames("hard", 2, seed=42, kinds=("datamatrix", "qr"))
    again = frames("hard", 2, seed=42, kinds=("datamatrix", "qr"))
    assert [f.payload for f in first] == [f.payload for f in again]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(first, again, strict=True))
    assert first[0].pixels.shape == (FRAME_SIZE[1], FRAME_SIZE[0])


def test_other_seed_gives_other_frames() -> None:
    assert frames("easy", 1, seed=1)[0].payload != frames("easy", 1, seed=2)[0].payload


def test_nirs_have_valid_keys() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        nir = fictitious_nir(rng)
        assert len(nir) == 15
        assert nir.isdigit()
        assert int(nir[13:]) == 97 - int(nir[:13]) % 97


def test_payloads_are_under_the_test_oid() -> None:
    payload = ins_payload(np.random.default_rng(0))
    assert payload.startswith(b"IS01" + b"0" * 22 + b"S1")
    assert b"S2" + TEST_OID.encode() + b"S3" in payload
