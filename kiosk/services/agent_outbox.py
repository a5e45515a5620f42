"""An outbox whose items name the agent who queued them (seed 000: « identification nominative »).

The outbox worker sends later, maybe after the agent left: the item itself says whom
the VIHF names (:func:`kiosk.dmp.items.with_agent`), inside its encrypted payload.
"""

from __future__ import annotations

from typing import Protocol

from cryptography import x509

from kiosk.cards.professional import ProfessionalIdentity
from kiosk.dmp.items import ItemAgent, with_agent
from kiosk.outbox.ports import Delivery
from kiosk.services.named import table_role
from kiosk.signing import Signer, SignerIdentity

__all__ = ["AgentOutbox", "OnBehalfSigner", "OutboxPort", "item_agent"]


def item_agent(identity: ProfessionalIdentity) -> ItemAgent:
    """What an outbox item keeps of the person who queued it."""
    return ItemAgent(identity.national_id, identity.display_name, table_role(identity))


class OnBehalfSigner:
    """The establishment's key, signing a row queued by a named agent.

    The signature and its certificate stay the establishment's (the outbox verifies them
    against it); the identity, which the outbox records as the row's signer id and every
    ``outbox.*`` audit line's actor, is the agent's.
    """

    def __init__(self, signer: Signer, identity: ProfessionalIdentity) -> None:
        self._signer = signer
        self._identity = SignerIdentity(identity.national_id, identity.display_name)

    @property
    def certificate(self) -> x509.Certificate:
        """The establishment's certificate."""
        return self._signer.certificate

    @property
    def identity(self) -> SignerIdentity:
        """The agent the row is queued for."""
        return self._identity

    def sign(self, data: bytes) -> bytes:
        """The establishment's signature."""
        return self._signer.sign(data)


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
