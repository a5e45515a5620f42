"""The logged-in desk: waits for the patient's Vitale card, and starts the admission on it.

Who is logged in (name, profession, structure, mode) is on the status bar of every
screen; this one asks for the Vitale card. A Vitale card arriving (or already in a
reader when the screen is shown) starts one admission
(:meth:`kiosk.services.desk.Desk.begin_admission`) and opens its beneficiaries. One
insertion gives one admission: coming back here with the same card still in (next
patient) does not start it over; the card must be pulled and inserted again. Any
other card is named as not recognised. F6 lists this session's patients, to reopen
one (:mod:`kiosk.tui.desk.session_patients`); F7 prints the session's last receipt
again (a patient back for their credentials); F10 logs out.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.cards.ports import CardInserted, CardKind
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.base import KioskScreen
from kiosk.tui.messages import CardChanged

__all__ = ["DeskHomeScreen"]


class DeskHomeScreen(KioskScreen):
    """ "Insert the patient's Vitale card", for the agent logged in."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("f6", "session_patients", "tui.home.key_session_patients"),
        ("f7", "reprint", "tui.home.key_reprint"),
        ("f10", "logout", "tui.home.key_logout"),
    )

    def __init__(self) -> None:
        super().__init__()
        self._started_on: CardInserted | None = None
        """The insertion the last admission started on (the card event, no patient data)."""

    def body(self) -> ComposeResult:
        with Vertical(id="home"):
            yield Static(markup=False, id="home-title", classes="title")
            yield Static(markup=False, id="home-prompt", classes="prompt")
            yield Static(markup=False, id="home-card", classes="card")

    def on_mount(self) -> None:  # KioskScreen.on_mount runs as well (Textual walks the MRO)
        self.call_after_refresh(self._look_for_vitale)

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._look_for_vitale)

    def on_card_changed(self, message: CardChanged) -> None:
        self.render_texts()
        event = message.event
        if isinstance(event, CardInserted) and event.kind is CardKind.VITALE:
            self._begin(event)

    def _look_for_vitale(self) -> None:
        if not self.is_current:
            return
        for card in list(self.kiosk.cards.values()):
            if card.kind is CardKind.VITALE and card is not self._started_on:
                self._begin(card)
                return

    def _begin(self, card: CardInserted) -> None:
        from kiosk.tui.desk.beneficiaries import BeneficiariesScreen

        if not self.is_current or self.kiosk.cards.get(card.reader) is not card:
            return  # another screen is in front, or the card already left
        try:
            admission = self.kiosk.services.desk.begin_admission(card.reader)
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        self._started_on = card
        self.show(BeneficiariesScreen(admission))

    def action_session_patients(self) -> None:
        """This session's patients, to reopen one."""
        from kiosk.tui.desk.session_patients import SessionPatientsScreen

        self.show(SessionPatientsScreen())

    def action_reprint(self) -> None:
        """Print the session's last receipt again (the patient came back for it)."""
        self.reprint()

    @work(exclusive=True, exit_on_error=False, group="reprint")
    async def reprint(self) -> None:
        """The one service call of F7."""
        try:
            await self.kiosk.services.desk.reprint_last()
        except KioskError as exc:
            self.kiosk.show_error(exc)
        else:
            self.notify(text("tui.home.reprinted", self.kiosk.lang), markup=False)

    def action_logout(self) -> None:
        """End the session; the app goes back to the first screen."""
        self.logout()

    @work(exclusive=True, exit_on_error=False, group="logout")
    async def logout(self) -> None:
        """The one service call of F10."""
        try:
            await self.kiosk.services.desk.logout()
        except KioskError as exc:
            self.kiosk.show_error(exc)

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#home-title", Static).update(text("tui.home.title", lang))
        self.query_one("#home-prompt", Static).update(text("tui.home.insert_vitale", lang))
        lines = [
            text("tui.home.unknown_card", lang, reader=c.reader)
            for c in self.kiosk.cards.values()
            if c.kind is CardKind.UNKNOWN
        ]
        card = self.query_one("#home-card", Static)
        card.update("\n".join(lines))
        card.display = bool(lines)
