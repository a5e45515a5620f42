"""Please go to the admission desk: why, in the patient's words, and the ticket printed.

Nothing was sent to the DMP. The patient takes their card: pulling it wipes the visit
and the kiosk returns to its attract screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.locale import text
from kiosk.tui.selfservice.base import VisitScreen

if TYPE_CHECKING:
    from kiosk.domain.selfservice import RouteReason
    from kiosk.services.admission import Admission

__all__ = ["RouteScreen"]


class RouteScreen(VisitScreen):
    """Where to go, why, and the reason's code the ticket carries."""

    def __init__(self, admission: Admission, reason: RouteReason) -> None:
        super().__init__(admission)
        self._reason = reason

    def body(self) -> ComposeResult:
        with Vertical(id="route", classes="self"):
            yield Static(markup=False, id="route-title", classes="self-title")
            yield Static(markup=False, id="route-reason", classes="self-text")
            yield Static(markup=False, id="route-ticket", classes="self-text")

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#route-title", Static).update(text("tui.self.route_title", lang))
        reason = text(f"selfservice.route.{self._reason.value}", lang)
        self.query_one("#route-reason", Static).update(f"{self._reason.code} · {reason}")
        self.query_one("#route-ticket", Static).update(text("tui.self.route_ticket", lang))
