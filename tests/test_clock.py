"""Ids are UUIDv7 and sort by the injected clock's time."""

from __future__ import annotations

from kiosk.clock import FrozenClock, IdFactory, uuid7


def test_uuid7_has_version_and_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"


def test_ids_sort_by_clock_time() -> None:
    clock = FrozenClock()
    ids = IdFactory(clock)
    earlier = ids.new()
    clock.advance(0.002)
    later = ids.new()
    assert earlier < later
    assert earlier != ids.new()
