"""What the TUI asks of the services bundle, as protocols (ARCHITECTURE.md §9).

The app receives ``kiosk.wiring.Services``; it names only what it uses here, so it
never imports the composition root (which knows every adapter), and a test can hand
it a small fake with the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from kiosk.cards.ports import CardMonitor
from kiosk.cards.professional import ProfessionalIdentity
from kiosk.clock import Clock
from kiosk.scanning.ports import Scanner

if TYPE_CHECKING:
    from kiosk.services.desk import Desk
    from kiosk.services.self_service import SelfService
from kiosk.services.session import SessionEvent, SessionMode, SessionState

__all__ = ["DemoControl", "DeskServices", "DeskSession", "StatusProbe", "StatusResult"]


class StatusResult(Protocol):
    """One probe's finding (``kiosk.wiring.probes.ProbeResult``)."""

    @property
    def up(self) -> bool:
        """Up or down."""
        ...

    @property
    def detail(self) -> str:
        """Short detail for the footer; never personal data."""
        ...


class StatusProbe(Protocol):
    """One footer light (``kiosk.wiring.probes.Probe``)."""

    @property
    def name(self) -> str:
        """``insi``, ``dmp``, ``outbox``, ``readers``, ``printer``."""
        ...

    async def check(self) -> StatusResult:
        """Look now; never raises."""
        ...


class DeskSession(Protocol):
    """What the footer and the screens read of ``kiosk.services.session.AgentSession``."""

    @property
    def state(self) -> SessionState:
        """Where the session stands."""
        ...

    @property
    def mode(self) -> SessionMode | None:
        """Direct (CPE) or indirect (establishment), while someone is logged in."""
        ...

    @property
    def professional(self) -> ProfessionalIdentity | None:
        """Who is logged in."""
        ...

    @property
    def reader(self) -> str | None:
        """The reader of the professional card present, if any."""
        ...

    @property
    def establishment_label(self) -> str | None:
        """The establishment's token, when the site allows indirect mode; else None."""
        ...

    def subscribe(self, listener: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """Hear every session event; returns the function that unsubscribes."""
        ...


class DeskServices(Protocol):
    """The part of ``kiosk.wiring.Services`` the TUI uses."""

    @property
    def clock(self) -> Clock:
        """The injected clock."""
        ...

    @property
    def card_monitor(self) -> CardMonitor:
        """Card and reader events."""
        ...

    @property
    def session(self) -> DeskSession:
        """The agent's session."""
        ...

    @property
    def probes(self) -> Sequence[StatusProbe]:
        """The footer's lights, in the order shown."""
        ...

    @property
    def desk(self) -> Desk:
        """Cards, login and the admission in progress: what the desk screens call."""
        ...

    @property
    def scanner(self) -> Scanner | None:
        """The 2D barcode scanner, if the site has one."""
        ...

    @property
    def self_service(self) -> SelfService:
        """The self-service kiosk's patient (``--mode self``)."""
        ...


class DemoControl(Protocol):
    """What the demo panel drives of the simulated world (``kiosk.sim.control.SimControl``).

    Exactly what ``kiosk sim …`` does from another terminal: the app still learns the
    outcome only from its card monitor, its scanner and its probes.
    """

    def cards(self) -> Sequence[tuple[str, str]]:
        """Every fixture card: (name, description)."""
        ...

    def people(self) -> Sequence[str]:
        """Every fixture person whose INS Data Matrix can be scanned."""
        ...

    async def inserted(self) -> Sequence[str]:
        """The cards now in a slot."""
        ...

    async def insert_card(self, name: str) -> None:
        """Insert fixture card ``name``."""
        ...

    async def pull_card(self, name: str) -> None:
        """Pull card ``name``."""
        ...

    async def scan(self, person: str) -> int:
        """The simulated scanner reads ``person``'s label; how many kiosks listened."""
        ...

    async def network(self, op: str, services: Sequence[str]) -> Mapping[str, bool]:
        """``cut``, ``restore`` or ``status`` of ``insi``/``dmp``; each one's reachability."""
        ...

    async def printer(self, command: str) -> None:
        """``paper-out`` or ``refill``."""
        ...
