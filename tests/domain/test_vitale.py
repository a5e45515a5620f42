"""The Vitale open structure: BER-TLV, the EF 2001 map, beneficiaries (DOMAIN.md §5)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.nir import Nir
from kiosk.domain.vitale import (
    MF_VITALE_AID,
    VITALE_AID,
    Beneficiary,
    FileRef,
    VitaleMap,
    build_beneficiary,
    build_map,
    build_tlv,
    parse_beneficiaries,
    parse_card_description,
    parse_map,
    parse_tlv,
)
from kiosk.errors import CardReadError
from tests.domain.strategies import nirs

ADULT = Beneficiary("MARTIN-TEST", "PAUL", "19800523", "180057505612342", 1, "00", "FR")


def test_long_lengths_and_multibyte_tags_parse() -> None:
    big = bytes(300)
    data = build_tlv(0x5F37, big) + build_tlv(0x80, b"A" * 200) + build_tlv(0x7F21, b"")
    assert [(t.tag, len(t.value)) for t in parse_tlv(data, file="T")] == [
        (0x5F37, 300),
        (0x80, 200),
        (0x7F21, 0),
    ]
    assert data[2:5] == b"\x82\x01\x2c"  # 300 in the two-byte long form


def test_unknown_tags_are_skipped_in_a_beneficiary() -> None:
    raw = build_beneficiary(ADULT)
    inner = parse_tlv(raw, file="2004")[0].value + build_tlv(0x9F42, b"??")
    (person,) = parse_beneficiaries(build_tlv(0x65, inner) + build_tlv(0x66, b""), file="2004")
    assert person == ADULT


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x65\x05\x80\x03AB", "longer than the file"),
        (b"\x65", "without length"),
        (b"\x5f", "truncated tag"),
        (b"\x65\x84\x00\x00\x00\x01", "unsupported length form"),
    ],
)
def test_malformed_tlv_names_the_file(data: bytes, what: str) -> None:
    with pytest.raises(CardReadError) as info:
        parse_beneficiaries(data, file="2004")
    assert "file 2004" in info.value.message_en
    assert what in info.value.message_en


def test_wrong_nir_key_is_refused() -> None:
    good = build_beneficiary(Beneficiary("X", "Y", "20000101", "180057505612342"))
    bad = good.replace(b"180057505612342", b"180057505612343")
    with pytest.raises(CardReadError, match="invalid NIR") as info:
        parse_beneficiaries(bad, file="2005")
    assert "file 2005" in info.value.message_en


def test_repr_never_shows_the_nir_or_birth_date() -> None:
    text = repr(ADULT)
    assert "180057505612342" not in text
    assert "19800523" not in text
    assert ADULT.masked_nir() == Nir.parse("180057505612342").masked()


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_card_read_error(data: bytes) -> None:
    for parse in (
        lambda: parse_tlv(data, file="X"),
        lambda: parse_map(data, file="2001"),
        lambda: parse_beneficiaries(data, file="X"),
        lambda: parse_card_description(data, file="X"),
    ):
        with contextlib.suppress(CardReadError):
            parse()


_names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-' ", min_size=1, max_size=150).map(
    lambda s: s.strip() or "A"
)


@st.composite
def beneficiaries(draw: st.DrawFn) -> Beneficiary:
    return Beneficiary(
        family_name=draw(_names),
        given_name=draw(_names),
        birth_date=draw(st.text(alphabet="0123456789", min_size=8, max_size=8)),
        insured_nir=draw(nirs()),
        birth_rank=draw(st.none() | st.integers(0, 9)),
        quality=draw(st.none() | st.sampled_from(["00", "02", "06"])),
        nationality=draw(st.none() | st.just("FR")),
    )


@given(st.lists(beneficiaries(), min_size=1, max_size=4))
def test_beneficiaries_round_trip(people: list[Beneficiary]) -> None:
    data = b"".join(build_beneficiary(p) for p in people)
    assert parse_beneficiaries(data, file="2004") == people


@given(
    st.lists(
        st.builds(
            FileRef,
            st.text(alphabet="ABCDEFGHIJ0123456789", min_size=1, max_size=8),
            st.sampled_from([1, 2]),
            st.integers(0, 0xFFFF),
        ),
        max_size=20,
    )
)
def test_map_round_trip(files: list[FileRef]) -> None:
    vmap = VitaleMap({1: VITALE_AID, 2: MF_VITALE_AID}, tuple(files))
    assert parse_map(build_map(vmap)) == vmap


@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 10_000),
)
def test_corrupted_real_layouts_raise_only_card_read_error(
    flips: list[tuple[int, int]], cut: int
) -> None:
    vmap = VitaleMap({1: VITALE_AID, 2: MF_VITALE_AID}, (FileRef("BENEF01", 1, 0x2004),))
    for original in (build_beneficiary(ADULT) * 2, build_map(vmap)):
        raw = bytearray(original)
        for at, value in flips:
            raw[at % len(raw)] = value
        data = bytes(raw[: len(raw) - cut % len(raw)])
        for parse in (parse_map, parse_beneficiaries, parse_card_description):
            with contextlib.suppress(CardReadError):
                parse(data, file="2004")
