"""What the identity flow asks of a 2D scanner: a stream of events, one per scan or state change.

A scanner yields :class:`ScanPayload` for a complete read (raw bytes, GS kept, DOMAIN.md
§3), :class:`ScanRejected` for a read that arrived broken (cut short, unmappable keys),
and :class:`ScanStatus` when it is unplugged or back. A rejected read changes nothing:
the flow shows the message and waits for the next scan.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from kiosk.errors import InvalidInput

__all__ = [
    "ScanEvent",
    "ScanPayload",
    "ScanRejected",
    "ScanStatus",
    "Scanner",
    "ScannerState",
]


class ScannerState(Enum):
    """Whether the scanner is there."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class ScanPayload:
    """One complete read: the symbol's bytes as the scanner delivered them."""

    data: bytes = field(repr=False)
    source: str

    @property
    def text(self) -> str:
        """The payload as text (UTF-8, Latin-1 when it is not); GS stays ``\\x1d``."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return self.data.decode("latin-1")

    def __repr__(self) -> str:
        # An INS payload holds a full NIR and the traits: length only.
        return f"ScanPayload(source={self.source!r}, bytes={len(self.data)})"


@dataclass(frozen=True)
class ScanRejected:
    """A read that cannot be used; ``error`` says why in French and English."""

    error: InvalidInput
    source: str


@dataclass(frozen=True)
class ScanStatus:
    """The scanner appeared or vanished."""

    state: ScannerState
    source: str
    detail: str = ""


ScanEvent = ScanPayload | ScanRejected | ScanStatus


class Scanner(Protocol):
    """A barcode scanner seen as a stream of events."""

    def events(self) -> AsyncGenerator[ScanEvent, None]:
        """Events until :meth:`close`; survives unplugging (status events, then recovery)."""
        ...

    async def close(self) -> None:
        """Stop reading and release the device."""
        ...
