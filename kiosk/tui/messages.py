"""Service events as Textual messages: posted from the service side, handled by screens.

``post_message`` is the only thread-safe call into Textual (ARCHITECTURE.md §9), so
the card monitor and the session reach widgets only through these.
"""

from __future__ import annotations

from textual.message import Message

from kiosk.cards.ports import CardEvent
from kiosk.scanning.ports import ScanEvent
from kiosk.services.session import SessionEvent

__all__ = ["CardChanged", "LanguageChanged", "LightChanged", "ScanReceived", "SessionChanged"]


class CardChanged(Message):
    """A reader or card event from the card monitor."""

    def __init__(self, event: CardEvent) -> None:
        super().__init__()
        self.event = event


class SessionChanged(Message):
    """An event of the agent's session (login, lock, end...)."""

    def __init__(self, event: SessionEvent) -> None:
        super().__init__()
        self.event = event


class ScanReceived(Message):
    """A read (or a broken read, or the scanner coming and going) from the 2D scanner."""

    def __init__(self, event: ScanEvent) -> None:
        super().__init__()
        self.event = event


class LanguageChanged(Message):
    """The app's language changed: write every text again.

    Sent to each screen of the stack (and by a screen to its status bar) rather than
    watched: a watcher on the app would keep a popped screen, and what it showed of
    the patient, alive until the next switch.
    """


class LightChanged(Message):
    """A round of probes brought a new light for ``name`` (the app holds the lights)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
