"""The enrolment flow's view of the outbox: enqueue signed, deliver now, say what became of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kiosk.outbox.ports import Delivery
from kiosk.outbox.store import OutboxStore
from kiosk.signing import Signer

__all__ = ["StoreOutbox"]


class StoreOutbox:
    """OutboxPort over the real outbox: enqueue signed, then ``kick`` the sync worker once."""

    def __init__(
        self, store: OutboxStore, signer: Signer, kick: Callable[[], Awaitable[object]]
    ) -> None:
        self._store = store
        self._signer = signer
        self._kick = kick

    async def enqueue(self, kind: str, key: str, payload: bytes) -> None:
        """Commit the item, signed with the session's key (ARCHITECTURE.md §6)."""
        await self._store.enqueue(
            kind=kind, idempotency_key=key, payload=payload, signer=self._signer
        )

    async def deliver(self, key: str) -> tuple[Delivery, str]:
        """Run the worker once (it stops when idle or offline), then read the row's state."""
        await self._kick()
        row = await self._store.row(key)
        if row is None:
            return Delivery.PENDING, ""
        if row.state == "done":
            return Delivery.DONE, ""
        if row.state == "dead":
            return Delivery.DEAD, row.last_error or ""
        return Delivery.PENDING, row.last_error or ""
