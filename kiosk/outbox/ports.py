"""The outbox's ports: what it sends through, and the key that seals its payloads.

The DMP sender (``kiosk/dmp/sender.py``) implements :class:`OutboxSender`
(ARCHITECTURE.md §6); the simulated feed sink's sender (``kiosk/sim/feed/client.py``)
does too, for the outbox's crash and rate benchmarks. A sender reports every failure as
a :class:`SendError`:
``retryable`` tells the worker whether to try again. A transient failure with
``answered=False`` (connection refused, timeout, response lost) says nothing about
the item: the worker backs off globally and never counts it against the item
(a network outage of a day must not kill a row; a lost response is resent with the
same idempotency key and the service deduplicates it).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from kiosk.errors import ServiceError, StorageError
from kiosk.locale import Message

__all__ = [
    "Ack",
    "Delivery",
    "DeviceKey",
    "OutboxItem",
    "OutboxSender",
    "PayloadTampered",
    "PermanentSendError",
    "SendError",
    "TransientSendError",
    "idempotency_key",
]


class Delivery(StrEnum):
    """What became of a queued write when the flow asked."""

    DONE = "done"
    PENDING = "pending"
    DEAD = "dead"


def idempotency_key(kind: str, *parts: str) -> str:
    """A key derived from the business action: the same action always gives the same key."""
    material = "\x1f".join((kind, *parts)).encode("utf-8")
    return f"{kind}:{hashlib.sha256(material).hexdigest()[:40]}"


@dataclass(frozen=True)
class OutboxItem:
    """One decrypted, signature-checked row handed to a sender."""

    id: uuid.UUID
    idempotency_key: str
    kind: str
    payload: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    signer_id: str
    attempt: int

    def __repr__(self) -> str:
        # The payload carries personal data; the repr never shows it.
        return (
            f"OutboxItem(id={self.id}, kind={self.kind!r}, "
            f"key={self.idempotency_key!r}, attempt={self.attempt}, "
            f"payload=<{len(self.payload)} B>)"
        )


@dataclass(frozen=True)
class Ack:
    """The service's acknowledgement; ``duplicate`` when it had already committed this key."""

    idempotency_key: str
    remote_id: str
    duplicate: bool = False


class SendError(ServiceError):
    """A send that did not end with an acknowledgement."""

    code = "OUTBOX_SEND"

    def __init__(
        self,
        message: Message | str,
        message_en: str | None = None,
        *,
        fault_code: str,
        detail: str = "",
    ) -> None:
        super().__init__(message, message_en, detail=detail)
        self.fault_code = fault_code


class TransientSendError(SendError):
    """Worth retrying: 5xx, rate limit, timeout, connection lost."""

    code = "OUTBOX_SEND_TRANSIENT"
    retryable = True

    def __init__(
        self,
        message: Message | str,
        message_en: str | None = None,
        *,
        fault_code: str,
        answered: bool,
        retry_after_s: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message, message_en, fault_code=fault_code, detail=detail)
        self.answered = answered
        """False when the service was not reached or its answer was lost."""
        self.retry_after_s = retry_after_s


class PermanentSendError(SendError):
    """The service refused the item for good (a permanent fault): it goes to dead letters."""

    code = "OUTBOX_SEND_PERMANENT"
    retryable = False


class PayloadTampered(StorageError):
    """A sealed payload that does not open: edited, truncated, or bound to another row."""

    code = "OUTBOX_TAMPERED"


class OutboxSender(Protocol):
    """Delivers one item; implemented by the DMP client and by the simulator's sender."""

    async def send(self, item: OutboxItem) -> Ack:
        """Send ``item`` with its idempotency key; raise a :class:`SendError` on failure."""
        ...


class DeviceKey(Protocol):
    """The per-device AES-GCM key (a 0600 file in simulation; a token key in production)."""

    @property
    def key_id(self) -> str:
        """A short, non-secret name of the key (a fingerprint), stored beside each row."""
        ...

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``aad``: nonce + ciphertext + tag."""
        ...

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what :meth:`seal` made; raise :class:`PayloadTampered` if it does not verify."""
        ...
