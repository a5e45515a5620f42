"""The self-service kiosk's rules: presence and its countdown, the route-to-desk codes.

ARCHITECTURE.md §9: "inactivity timeout (default 60 s) and card removal wipe everything
on screen and in memory, and a route to the desk (ticket) when identity cannot be
qualified".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.selfservice import Presence, RouteReason, presence

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _at(seconds: float) -> Presence:
    return presence(T0, T0 + timedelta(seconds=seconds), timeout_s=60, countdown_s=15).state


def test_active_for_the_timeout_then_asked_for_the_countdown_then_expired() -> None:
    assert [_at(s) for s in (0, 59.9, 60, 74.9, 75, 600)] == [
        Presence.ACTIVE,
        Presence.ACTIVE,
        Presence.ASKING,
        Presence.ASKING,
        Presence.EXPIRED,
        Presence.EXPIRED,
    ]


@given(
    st.floats(0, 10_000, allow_nan=False),
    st.floats(1, 600, allow_nan=False),
    st.floats(1, 120, allow_nan=False),
)
def test_the_countdown_only_goes_down_and_ends_at_the_wipe(
    idle: float, timeout: float, countdown: float
) -> None:
    now = T0 + timedelta(seconds=idle)
    check = presence(T0, now, timeout_s=timeout, countdown_s=countdown)
    later = presence(T0, now + timedelta(seconds=1), timeout_s=timeout, countdown_s=countdown)
    assert later.seconds_left <= check.seconds_left
    assert (check.state is Presence.EXPIRED) == (check.seconds_left == 0.0)
    assert list(Presence).index(later.state) >= list(Presence).index(check.state)


def test_a_clock_that_went_back_counts_as_just_touched() -> None:
    assert presence(T0, T0 - timedelta(seconds=30), timeout_s=60, countdown_s=15).state is (
        Presence.ACTIVE
    )


def test_every_reason_has_its_own_short_code() -> None:
    codes = [reason.code for reason in RouteReason]
    assert len(set(codes)) == len(codes)
    assert RouteReason.NOT_QUALIFIED.code == "BL-01"
