"""The simulated DMP's feeding rate limit, per establishment + software, with its counters.

Seed 000: fewer than 5 feeding transactions (TD2.1, TD3.3) per second per
establishment + software pair; over that the real service answers with its own fault,
which a client must treat as "slow down and retry". A sliding one-second window on
the injected clock's monotonic time, so tests drive it without sleeping.
"""

from __future__ import annotations

from kiosk.clock import Clock

__all__ = ["FeedingRate"]


class FeedingRate:
    """Admits at most ``limit`` feeding calls per second and per key; counts every call."""

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self.clock = clock
        self.calls: dict[tuple[str, str], int] = {}
        """Feeding transactions seen per (structure, software homologation), for tests."""
        self.refusals = 0
        """Feeding transactions refused for going over the rate."""
        self._recent: dict[tuple[str, str], list[float]] = {}

    def admit(self, key: tuple[str, str]) -> bool:
        """Count one call for ``key``; False when it goes over the rate (and is refused)."""
        self.calls[key] = self.calls.get(key, 0) + 1
        now = self.clock.monotonic()
        recent = [t for t in self._recent.get(key, []) if now - t < 1.0]
        if len(recent) >= self.limit:
            self.refusals += 1
            return False
        self._recent[key] = [*recent, now]
        return True
