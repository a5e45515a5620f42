"""NIR and NIA: key, structure, kinds, masking (DOMAIN.md §2, §7)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir

from kiosk.domain.nir import Nir, NirError, NirKind, NirReason, is_valid, nir_key
from kiosk.errors import InvalidInput
from tests.domain.strategies import any_bodies, nir_bodies, nirs
from tests.vectors.identity import NirCase, NirFailure, nir_cases, nir_failures

relaxed = settings(deadline=None)


@pytest.mark.parametrize("case", nir_cases(), ids=lambda c: c.note)
def test_vector_parses_to_its_kind_place_and_mask(case: NirCase) -> None:
    hint = NirKind(case.kind_hint) if case.kind_hint else None
    parsed = Nir.parse(case.nir, kind_hint=hint)
    assert parsed.kind == case.kind
    assert parsed.masked() == case.masked
    assert parsed.birth_place == case.birth_place
    assert parsed.born_abroad is case.born_abroad
    assert is_valid(case.nir)


@pytest.mark.parametrize("case", nir_failures(), ids=lambda c: c.note)
def test_invalid_vector_is_refused_with_its_reason(case: NirFailure) -> None:
    with pytest.raises(NirError) as caught:
        Nir.parse(case.nir)
    assert caught.value.reason == NirReason(case.reason)
    assert caught.value.code == "NIR_INVALID"
    assert isinstance(caught.value, InvalidInput)
    if case.message_fr is not None:
        assert caught.value.message_fr == case.message_fr
    assert not is_valid(case.nir)


def test_domain_vectors_key_and_fields() -> None:
    corsica = Nir.parse("253072B07300470")
    assert (corsica.sex_digit, corsica.birth_year, corsica.birth_month) == ("2", "53", "07")
    assert (corsica.birth_place, corsica.order, corsica.key) == ("2B073", "004", 70)
    assert corsica.body == "253072B073004"
    assert nir_key("253072A073004") == 43
    assert nir_key("2770763220829") == 10


def test_2a_and_2b_give_different_keys_for_the_same_digits() -> None:
    assert nir_key("253072A073004") != nir_key("253072B073004")
    assert not is_valid("253072A07300470")


def test_lower_case_corsica_and_spaces_are_accepted() -> None:
    parsed = Nir.parse(" 2 53 07 2b 073 004 70 ")
    assert parsed.value == "253072B07300470"
    assert parsed == Nir.parse("253072B07300470")


def test_nia_is_told_by_the_caller_and_provisional_by_the_sex_digit() -> None:
    assert Nir.parse("193049910001749", kind_hint=NirKind.NIA).kind is NirKind.NIA
    assert Nir.parse("193049910001749").kind is NirKind.NIR
    assert Nir.parse("790051305501297").kind is NirKind.PROVISIONAL
    assert Nir.parse("802126912300454", kind_hint=NirKind.NIR).kind is NirKind.PROVISIONAL


def test_key_error_message_says_what_was_expected_without_the_number() -> None:
    with pytest.raises(NirError) as caught:
        Nir.parse("253072B07300471")
    assert "70" in caught.value.message_fr
    assert "71" in caught.value.message_fr
    assert caught.value.message_en == "key 70 expected, 71 given"
    for text in (caught.value.message_fr, caught.value.message_en, repr(caught.value)):
        assert "253072B073004" not in text


def test_nir_key_refuses_a_malformed_body() -> None:
    for body in ("25307", "253072B0730045", "2530X2B073004", "253072C073004"):
        with pytest.raises(InvalidInput):
            nir_key(body)


@relaxed
@given(body=any_bodies())
def test_key_matches_python_stdnum_for_any_body(body: str) -> None:
    assert f"{nir_key(body):02d}" == stdnum_nir.calc_check_digits(body)
    assert 1 <= nir_key(body) <= 97


@relaxed
@given(value=nirs())
def test_any_single_character_substitution_is_detected(value: str) -> None:
    assert is_valid(value)
    for index, original in enumerate(value):
        for char in "0123456789AB":
            if char != original:
                mutated = value[:index] + char + value[index + 1 :]
                assert not is_valid(mutated), (index, char)


@relaxed
@given(value=nirs(), index=st.integers(min_value=0, max_value=13))
def test_adjacent_transposition_is_detected(value: str, index: int) -> None:
    a, b = value[index], value[index + 1]
    if a != b:
        assert not is_valid(value[:index] + b + a + value[index + 2 :])


@relaxed
@given(body=nir_bodies())
def test_any_month_is_accepted_and_fields_are_consistent(body: str) -> None:
    parsed = Nir.parse(body + f"{nir_key(body):02d}")
    assert parsed.value == parsed.body + f"{parsed.key:02d}"
    assert parsed.birth_month == body[3:5]
    assert parsed.born_abroad is body.startswith("99", 5)
    assert parsed.kind is (NirKind.NIR if body[0] in "12" else NirKind.PROVISIONAL)


@relaxed
@given(value=nirs())
def test_repr_and_str_never_show_commune_or_order(value: str) -> None:
    parsed = Nir.parse(value)
    for shown in (repr(parsed), str(parsed), f"{parsed}", repr([parsed])):
        assert value not in shown
        assert parsed.birth_place[2:] not in shown
        assert parsed.order not in shown
        assert "••• •••" in shown


@relaxed
@given(text=st.text(max_size=30))
def test_arbitrary_text_is_refused_only_with_a_nir_error(text: str) -> None:
    try:
        parsed: Nir | NirError = Nir.parse(text)
    except NirError as exc:
        parsed = exc
    assert is_valid(text) is isinstance(parsed, Nir)
    if isinstance(parsed, NirError):
        assert parsed.message_fr
        assert parsed.message_en
