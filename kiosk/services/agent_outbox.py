"""An outbox whose items name the agent who queued them (seed 000: « identification nominative »).

The outbox worker sends later, maybe after the agent left: the item itself says whom
the VIHF names (:func:`kiosk.dmp.items.with_agent`), inside its encrypted payload.
"""

from __future__ import annotations

from typing import Protocol

from kiosk.cards.professional import ProfessionalIdentity
from kiosk.dmp.items import ItemAgent, with_agent
from kiosk.outbox.ports import Delivery
from kiosk.services.named import table_role

__all__ = ["AgentOutbox", "OutboxPort", "item_agent"]


def item_agent(identity: ProfessionalIdentity) -> ItemAgent:
    """What an outbox item keeps of the person who queued it."""
    return ItemAgent(identity.national_id, identity.display_name, table_role(identity))


class OutboxPort(Protocol):
    """The enrolment flow's outbox (:class:`kiosk.services.enrolment.OutboxPort`)."""

    async def enqueue(self, kind: str, key: str, payload: bytes) -> None:
        """Commit the item."""
        ...

    async def deliver(self, key: str) -> tuple[Delivery, str]:
        """Try to send now."""
        ...


class AgentOutbox:
    """An outbox whose every item names the agent who queued it."""

    def __init__(self, outbox: OutboxPort, agent: ItemAgent) -> None:
        self._outbox = outbox
        self._agent = agent

    async def enqueue(self, kind: str, key: str, payload: bytes) -> None:
        """Queue the item with the agent in its payload (same kind and key)."""
        await self._outbox.enqueue(kind, key, with_agent(payload, self._agent))

    async def deliver(self, key: str) -> tuple[Delivery, str]:
        """As the wrapped outbox."""
        return await self._outbox.deliver(key)
