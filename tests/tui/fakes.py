"""A small stand-in for ``kiosk.wiring.Services``: scripted probes, cards and session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from kiosk.cards.ports import CardEvent
from kiosk.cards.professional import ProfessionalIdentity
from kiosk.clock import FrozenClock
from kiosk.services.session import LoggedIn, SessionEvent, SessionMode, SessionState
from kiosk.wiring.probes import ProbeResult

__all__ = ["AGENT", "FakeDesk", "FakeMonitor", "FakeProbe", "FakeServices", "FakeSession"]

AGENT = ProfessionalIdentity(
    national_id="0000000001",
    given_name="Alice",
    family_name="Guichet",
    profession_code="",
    role="agent",
    specialty="",
    structure_id="",
    sector="",
    organisation="Hôpital d'essai",
)


@dataclass
class FakeProbe:
    """A probe answering ``result``, or raising ``fails``."""

    name: str
    result: ProbeResult = field(default_factory=lambda: ProbeResult(True))
    fails: Exception | None = None

    async def check(self) -> ProbeResult:
        if self.fails is not None:
            raise self.fails
        return self.result


class FakeMonitor:
    """Replays ``script`` then ends (so the app's card worker completes)."""

    def __init__(self, script: Sequence[CardEvent] = ()) -> None:
        self.script = list(script)

    async def events(self) -> AsyncIterator[CardEvent]:
        for event in self.script:
            yield event

    async def aclose(self) -> None:
        return None


class FakeSession:
    """The session's readable state, and events on demand."""

    def __init__(self) -> None:
        self.state = SessionState.NO_CARD
        self.mode: SessionMode | None = None
        self.professional: ProfessionalIdentity | None = None
        self.reader: str | None = None
        self.establishment_label: str | None = None
        self.listeners: list[Callable[[SessionEvent], None]] = []

    def subscribe(self, listener: Callable[[SessionEvent], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def log_in(self, who: ProfessionalIdentity = AGENT) -> None:
        self.state, self.mode, self.professional = SessionState.LOGGED_IN, SessionMode.DIRECT, who
        for listener in list(self.listeners):
            listener(LoggedIn(who, SessionMode.DIRECT))


class FakeDesk:
    """The desk service's routing, as a recorder: no admission ever starts."""

    def __init__(self) -> None:
        self.admission = None
        self.events: list[CardEvent] = []

    async def card_event(self, event: CardEvent) -> None:
        self.events.append(event)

    async def check_inactivity(self) -> None:
        return None

    def touch(self) -> None:
        return None


@dataclass
class FakeServices:
    """What ``KioskApp`` reads of the bundle."""

    probes: Sequence[FakeProbe] = ()
    card_monitor: FakeMonitor = field(default_factory=FakeMonitor)
    session: FakeSession = field(default_factory=FakeSession)
    clock: FrozenClock = field(default_factory=FrozenClock)
    desk: FakeDesk = field(default_factory=FakeDesk)
    scanner: None = None
