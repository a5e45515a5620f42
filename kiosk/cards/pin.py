"""What a PKCS#11 token says about its user PIN, and what the card holder is told.

PKCS#11 reports only three flags (``CK_TOKEN_INFO.flags``, PKCS#11 v2.40 §3.2) and
the return codes of C_Login; a CPS/CPE allows 3 tries (DOMAIN.md §5), so "count
low" alone means 2 tries left and "final try" means 1. Pure: no token access here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.errors import PinIncorrect, PinLocked
from kiosk.locale import msg

__all__ = [
    "CKF_USER_PIN_COUNT_LOW",
    "CKF_USER_PIN_FINAL_TRY",
    "CKF_USER_PIN_LOCKED",
    "MAX_PIN_TRIES",
    "PIN_FLAGS",
    "PinState",
    "PinStatus",
    "pin_error",
    "pin_status",
]

CKF_USER_PIN_COUNT_LOW = 0x0001_0000
CKF_USER_PIN_FINAL_TRY = 0x0002_0000
CKF_USER_PIN_LOCKED = 0x0004_0000
PIN_FLAGS = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED
"""The three user-PIN flags."""
MAX_PIN_TRIES = 3


class PinState(StrEnum):
    """What the token flags say about the user PIN."""

    OK = "ok"
    COUNT_LOW = "count_low"
    FINAL_TRY = "final_try"
    LOCKED = "locked"


@dataclass(frozen=True)
class PinStatus:
    """The PIN state and the tries left (None when the token cannot tell)."""

    state: PinState
    tries_left: int | None


def pin_status(flags: int, max_tries: int = MAX_PIN_TRIES) -> PinStatus:
    """Interpret ``CK_TOKEN_INFO.flags``; a locked PIN wins over every other flag."""
    if flags & CKF_USER_PIN_LOCKED:
        return PinStatus(PinState.LOCKED, 0)
    if flags & CKF_USER_PIN_FINAL_TRY:
        return PinStatus(PinState.FINAL_TRY, 1)
    if flags & CKF_USER_PIN_COUNT_LOW:
        # "At least one wrong PIN": exact only when 3 tries leave a single middle state.
        return PinStatus(PinState.COUNT_LOW, 2 if max_tries == 3 else None)
    return PinStatus(PinState.OK, max_tries)


def pin_error(status: PinStatus) -> PinIncorrect | PinLocked:
    """The error a user sees after a wrong PIN, given the flags read afterwards."""
    if status.state is PinState.LOCKED:
        return PinLocked(
            msg("cards.pin.pin_error_2"),
        )
    if status.state is PinState.FINAL_TRY:
        return PinIncorrect(
            msg("cards.pin.pin_error_3"),
            tries_left=1,
        )
    if status.tries_left is None:
        return PinIncorrect(msg("cards.pin.pin_error_4"), tries_left=None)
    return PinIncorrect(
        msg("cards.pin.pin_error", tries_left=status.tries_left),
        tries_left=status.tries_left,
    )
