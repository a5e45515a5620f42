"""PIN flags and data objects: every flag combination gives the message a card holder expects."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.cards.pin import (
    CKF_USER_PIN_COUNT_LOW,
    CKF_USER_PIN_FINAL_TRY,
    CKF_USER_PIN_LOCKED,
    PinState,
    pin_error,
    pin_status,
)
from kiosk.cards.professional import parse_data_object
from kiosk.errors import PinIncorrect, PinLocked

OTHER_FLAGS = st.integers(min_value=0, max_value=0xFFFF_FFFF).map(
    lambda f: f & ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)
)


@given(OTHER_FLAGS, st.booleans(), st.booleans())
def test_locked_wins_over_every_other_flag(other: int, low: bool, final: bool) -> None:
    flags = other | CKF_USER_PIN_LOCKED
    flags |= CKF_USER_PIN_COUNT_LOW if low else 0
    flags |= CKF_USER_PIN_FINAL_TRY if final else 0
    status = pin_status(flags)
    assert status.state is PinState.LOCKED
    assert isinstance(pin_error(status), PinLocked)


@given(OTHER_FLAGS, st.booleans())
def test_final_try_means_one_left_and_says_last_try(other: int, low: bool) -> None:
    flags = other | CKF_USER_PIN_FINAL_TRY | (CKF_USER_PIN_COUNT_LOW if low else 0)
    error = pin_error(pin_status(flags))
    assert isinstance(error, PinIncorrect)
    assert error.tries_left == 1
    assert "Dernier essai" in error.message("fr")


@given(OTHER_FLAGS)
def test_count_low_alone_means_two_left_on_a_three_try_card(other: int) -> None:
    status = pin_status(other | CKF_USER_PIN_COUNT_LOW)
    assert status.state is PinState.COUNT_LOW
    assert status.tries_left == 2
    assert "2 essais" in pin_error(status).message("fr")


def test_count_low_on_a_card_with_more_tries_does_not_invent_a_number() -> None:
    status = pin_status(CKF_USER_PIN_COUNT_LOW, max_tries=5)
    assert status.tries_left is None
    error = pin_error(status)
    assert isinstance(error, PinIncorrect)
    assert error.message("fr") == "Code faux."


@given(OTHER_FLAGS)
def test_no_pin_flag_means_every_try_left(other: int) -> None:
    status = pin_status(other)
    assert status.state is PinState.OK
    assert status.tries_left == 3


KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
VALUES = st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=20)


@given(st.dictionaries(KEYS, VALUES.map(str.strip), max_size=6))
def test_data_objects_read_back_what_was_written(fields: dict[str, str]) -> None:
    payload = "".join(f"{k}={v}\n" for k, v in fields.items()).encode()
    assert parse_data_object(payload) == fields


@given(st.binary(max_size=200))
def test_any_bytes_parse_without_error(raw: bytes) -> None:
    assert isinstance(parse_data_object(raw), dict)
