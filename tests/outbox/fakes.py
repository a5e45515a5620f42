"""An in-process service fake implementing OutboxSender, for tests in virtual time."""

from __future__ import annotations

from collections import deque

from kiosk.clock import FrozenClock
from kiosk.outbox.ports import Ack, OutboxItem, TransientSendError


class RecordingSender:
    """Deduplicates by key like the service; can be 'down' or play scripted failures."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.down = False
        self.script: deque[Exception] = deque()
        self.lose_next_answer = 0
        self.stored: dict[str, bytes] = {}
        self.sends: list[tuple[str, float]] = []

    async def send(self, item: OutboxItem) -> Ack:
        if self.down:
            raise TransientSendError("réseau", "network", fault_code="NETWORK", answered=False)
        self.sends.append((item.idempotency_key, self.clock.monotonic()))
        if self.script:
            raise self.script.popleft()
        duplicate = item.idempotency_key in self.stored
        self.stored.setdefault(item.idempotency_key, item.payload)
        if self.lose_next_answer:
            self.lose_next_answer -= 1
            raise TransientSendError("perdu", "lost", fault_code="NETWORK", answered=False)
        return Ack(item.idempotency_key, f"R-{len(self.stored)}", duplicate)


class VirtualTime:
    """An injected sleep that moves the frozen clock instead of waiting."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.clock.advance(max(seconds, 0.0))
