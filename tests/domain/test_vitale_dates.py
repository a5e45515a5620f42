"""A card's birth date as a person reads it, and back from what the agent types."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.vitale import date_from_shown, shown_birth_date

card_dates = st.builds(
    lambda y, m, d: f"{y:04d}{m:02d}{d:02d}",
    st.integers(1850, 2100),
    st.integers(0, 12),  # 00: a lunar date, month unknown
    st.integers(0, 31),  # 00: day unknown
)


@given(card_dates)
def test_a_card_date_reads_day_month_year_and_types_back(card: str) -> None:
    shown = shown_birth_date(card)
    day, month, year = shown.split("/")
    assert (year, month, day) == (card[:4], card[4:6], card[6:])
    assert date_from_shown(shown) == card


def test_a_lunar_date_keeps_its_zeros_as_on_the_card() -> None:
    assert shown_birth_date("19800523") == "23/05/1980"
    assert shown_birth_date("19800000") == "00/00/1980"
    assert shown_birth_date("19800500") == "00/05/1980"


def test_what_is_not_a_card_date_is_shown_unchanged() -> None:
    assert shown_birth_date("1980-05") == "1980-05"


def test_typed_dates_accept_usual_separators_and_refuse_the_rest() -> None:
    assert date_from_shown(" 1/5/1980 ") == "19800501"
    assert date_from_shown("23-05-1980") == "19800523"
    assert date_from_shown("23.05.1980") == "19800523"
    for bad in ("", "1980-05-23x", "32/01/1980", "01/13/1980", "01/01/80", "aa/bb/cccc"):
        assert date_from_shown(bad) is None, bad
