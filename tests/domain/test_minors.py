"""The minor/adult boundary and the legal representative.

Seed 001: consent is given by « la personne ayant l'autorité parentale »; seed 000
names « les représentants légaux du patient ». Majority: « dix-huit ans accomplis »
(Code civil, art. 414).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.minors import (
    LegalRepresentative,
    RepresentativeInvalid,
    RepresentativeQuality,
    is_minor,
    majority_day,
)
from kiosk.errors import InvalidInput


def _card(day: date) -> str:
    return f"{day:%Y%m%d}"


births = st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31))


@given(births)
def test_one_is_adult_on_the_eighteenth_birthday_and_minor_the_day_before(birth: date) -> None:
    eighteenth = majority_day(_card(birth))
    assert not is_minor(_card(birth), eighteenth)
    assert is_minor(_card(birth), eighteenth - timedelta(days=1))


@given(births)
def test_the_eighteenth_birthday_is_the_same_day_and_month_eighteen_years_on(birth: date) -> None:
    eighteenth = majority_day(_card(birth))
    assert eighteenth.year == birth.year + 18
    if (birth.month, birth.day) != (2, 29) or calendar.isleap(birth.year + 18):
        assert (eighteenth.month, eighteenth.day) == (birth.month, birth.day)


@given(st.sampled_from([y for y in range(1904, 2030, 4) if calendar.isleap(y)]))
def test_born_on_29_february_one_comes_of_age_on_1_march_of_a_common_year(year: int) -> None:
    card = f"{year}0229"
    adult_year = year + 18
    if calendar.isleap(adult_year):
        assert majority_day(card) == date(adult_year, 2, 29)
    else:
        assert is_minor(card, date(adult_year, 2, 28))  # eighteen years not yet complete
        assert not is_minor(card, date(adult_year, 3, 1))


def test_the_fixture_twins_of_the_family_card_are_minors_and_their_mother_is_not() -> None:
    today = date(2026, 12, 3)  # kiosk/sim/data/cards/family.toml
    assert is_minor("20150612", today)
    assert not is_minor("19850312", today)


@given(st.integers(1900, 2030), st.integers(1, 12))
def test_a_lunar_day_counts_as_the_latest_day_of_its_month(year: int, month: int) -> None:
    last = calendar.monthrange(year, month)[1]
    for day in range(1, last + 1):  # whatever day it stands for, never counted adult earlier
        assert majority_day(f"{year}{month:02d}00") >= majority_day(f"{year}{month:02d}{day:02d}")


@given(st.integers(1900, 2030), st.integers(0, 31))
def test_a_lunar_month_counts_as_december(year: int, day: int) -> None:
    assert majority_day(f"{year}00{day:02d}") == date(year + 18, 12, 31)


def test_a_day_the_month_does_not_have_counts_as_its_last_day() -> None:
    assert majority_day("20090231") == date(2027, 2, 28)  # 31 February 2009, as on a card


@pytest.mark.parametrize("card", ["", "2015-06-12", "0000612", "00000612", "abcdefgh"])
def test_an_unreadable_birth_date_is_refused(card: str) -> None:
    with pytest.raises(InvalidInput):
        majority_day(card)


def test_a_representative_needs_both_names() -> None:
    with pytest.raises(RepresentativeInvalid):
        LegalRepresentative("  ", "SOPHIE", RepresentativeQuality.PARENT)
    with pytest.raises(RepresentativeInvalid):
        LegalRepresentative("DURAND-TEST", "", RepresentativeQuality.PARENT)


@given(st.text(min_size=1, max_size=20).filter(lambda t: any(c in t for c in "0123456789<>;@")))
def test_a_name_with_digits_or_markup_is_refused(name: str) -> None:
    with pytest.raises(RepresentativeInvalid):
        LegalRepresentative(name, "SOPHIE", RepresentativeQuality.PARENT)


def test_a_representative_is_named_cleanly_and_never_in_its_repr() -> None:
    mother = LegalRepresentative(" durand-test ", "Sophie  Marie", RepresentativeQuality.PARENT)
    assert mother.display_name == "Sophie Marie DURAND-TEST"
    assert "DURAND" not in repr(mother).upper()
    assert "parent" in repr(mother)
