"""Timing a call the same way in every benchmark: one warm-up, then one sample per round."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["times_ms"]


def times_ms(fn: Callable[[], object], rounds: int) -> list[float]:
    """Milliseconds of each of ``rounds`` calls of ``fn``, after one call to warm up."""
    fn()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out
