"""What the rest of the kiosk knows of cards: typed events and small protocols.

The monitor (``kiosk/cards/pcsc.py``) is the only producer of :data:`CardEvent`;
a licensed SESAM-Vitale adapter can implement :class:`VitaleReader` beside the
PC/SC one (``kiosk/cards/vitale.py``) without anything else changing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from kiosk.domain.vitale import VitaleCardData

__all__ = [
    "ApduChannel",
    "CardEvent",
    "CardInserted",
    "CardKind",
    "CardMonitor",
    "CardRemoved",
    "ReaderAdded",
    "ReaderRemoved",
    "VitaleReader",
]


class CardKind(Enum):
    """What an ATR says a card is (``hw/cards/*.toml``)."""

    VITALE = "vitale"
    CPS = "cps"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReaderAdded:
    """A reader slot appeared (also announced for every slot present at start)."""

    reader: str


@dataclass(frozen=True)
class ReaderRemoved:
    """A reader slot vanished (unplugged, or the PC/SC service went away)."""

    reader: str


@dataclass(frozen=True)
class CardInserted:
    """A card is present in ``reader``; ``profile`` names the matching ATR profile."""

    reader: str
    atr: bytes
    kind: CardKind
    profile: str = ""


@dataclass(frozen=True)
class CardRemoved:
    """The card left ``reader``."""

    reader: str


CardEvent = ReaderAdded | ReaderRemoved | CardInserted | CardRemoved


class CardMonitor(Protocol):
    """A stream of card events over every reader, in the order they happened."""

    def events(self) -> AsyncIterator[CardEvent]:
        """Reconciled events: first the present state, then each change."""
        ...

    async def aclose(self) -> None:
        """Stop watching and release the PC/SC context."""
        ...


class ApduChannel(Protocol):
    """An exclusive conversation with the card in one reader."""

    async def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU; the response data and the status word (``0x9000``)."""
        ...

    async def aclose(self) -> None:
        """Leave the card powered and release the connection and its context."""
        ...


class VitaleReader(Protocol):
    """Reads beneficiaries from the Vitale card in a reader (PC/SC now, licensed library later)."""

    async def read(self, reader: str) -> VitaleCardData:
        """All beneficiaries, or an error: ``CardRemoved``, ``CardReadError``, ``NotFound``."""
        ...
