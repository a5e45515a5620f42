"""The PIN screen: the agent's card PIN (login or unlock), or the establishment's (indirect mode).

The PIN is the one secret an agent types at the desk, so it is held as briefly as
Python allows: the masked input is read into a local and cleared at once, the value
travels to the worker in a box the worker empties, goes to ``C_Login`` through
:meth:`kiosk.services.desk.Desk.login` and is dropped; it is never logged, never
kept on the screen, never part of a message.

What the card says after a wrong PIN is shown where the agent looks: the tries
left, a "last try" warning before the card blocks, and once blocked what to do (its
issuer unblocks it); a blocked card is not offered to the token again. The screen
stays while the session still asks for this PIN (:attr:`PinScreen.wanted`); the app
drops it otherwise (card pulled, another card took over).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import Input, Static

from kiosk.errors import KioskError, PinIncorrect, PinLocked
from kiosk.locale import text
from kiosk.services.session import CardBlocked, PinRefused, SessionState
from kiosk.tui.base import KioskScreen
from kiosk.tui.messages import SessionChanged

__all__ = ["PinMode", "PinScreen"]


class PinMode(StrEnum):
    """Whose PIN, and for what."""

    CARD = "card"
    """The CPE's PIN, to log in."""
    UNLOCK = "unlock"
    """The CPE's PIN, to resume a session inactivity locked."""
    ESTABLISHMENT = "establishment"
    """The establishment token's PIN: indirect mode, where the site allows it."""


class PinScreen(KioskScreen):
    """Asks for a PIN, masked; Enter submits it, Escape goes back (not when locked)."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = (("escape", "cancel", "tui.pin.key_cancel"),)

    def __init__(self, mode: PinMode = PinMode.CARD) -> None:
        super().__init__()
        self.mode = mode
        self.tries_left: int | None = None
        """After a wrong PIN: what the card says is left (None when it cannot tell)."""
        self.refused = False
        self.blocked = False
        self.checking = False
        self.failure = ""
        """Another error's message, in the app's language, shown inline."""

    def body(self) -> ComposeResult:
        with Vertical(id="pin"):
            yield Static(markup=False, id="pin-title", classes="title")
            yield Static(markup=False, id="pin-reader", classes="card")
            with Center(id="pin-field"):
                yield Input(password=True, restrict=r"[0-9]*", max_length=16, id="pin-input")
            yield Static(markup=False, id="pin-message", classes="message")
            yield Static(markup=False, id="pin-hint", classes="hint")

    def on_mount(self) -> None:  # KioskScreen.on_mount runs as well (Textual walks the MRO)
        self.query_one("#pin-input", Input).focus()

    @property
    def wanted(self) -> bool:
        """Whether the session still asks for this PIN (else the app drops the screen)."""
        session = self.kiosk.services.session
        if self.mode is PinMode.UNLOCK:
            return session.state is SessionState.LOCKED
        if self.mode is PinMode.ESTABLISHMENT:
            return session.reader is None and session.state in (
                SessionState.NO_CARD,
                SessionState.ENDED,
            )
        return session.reader is not None and session.state in (
            SessionState.CARD_PRESENT,
            SessionState.CARD_BLOCKED,
            SessionState.ENDED,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A locked session is resumed or ended (card pulled), never left by Escape."""
        if action == "cancel":
            return self.mode is not PinMode.UNLOCK
        return True

    def action_cancel(self) -> None:
        """Back to the previous screen; nothing typed is kept."""
        self.query_one("#pin-input", Input).value = ""
        self.app.pop_screen()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        field = self.query_one("#pin-input", Input)
        pin = field.value
        field.value = ""  # off the screen before the token is even asked
        if pin and not self.blocked and not self.checking:
            self.checking = True
            self.render_texts()
            self.submit([pin])
        del pin

    @work(exclusive=True, exit_on_error=False, group="pin")
    async def submit(self, box: list[str]) -> None:
        """One login (or unlock) with the PIN in ``box``, which is emptied first."""
        pin = box.pop()  # the worker's arguments keep an empty box, not the PIN
        desk = self.kiosk.services.desk
        try:
            if self.mode is PinMode.ESTABLISHMENT:
                await desk.login_indirect(pin)
            else:
                await desk.login(pin)
        except PinIncorrect as exc:
            self.refused, self.tries_left, self.failure = True, exc.tries_left, ""
        except PinLocked:
            self.blocked, self.failure = True, ""
        except KioskError as exc:
            self.failure = exc.message(self.kiosk.lang)
            self.kiosk.show_error(exc)
        else:
            self._logged_in()
            return
        finally:
            del pin
            self.checking = False
        if self.is_attached:
            self.render_texts()

    def _logged_in(self) -> None:
        from kiosk.tui.desk.home import DeskHomeScreen

        if self.mode is PinMode.UNLOCK:
            self.app.pop_screen()  # back to the screen the lock covered
            self.kiosk.reconcile_screens()  # unless a card left meanwhile
        else:
            self.replace_with(DeskHomeScreen())

    def on_session_changed(self, message: SessionChanged) -> None:
        event = message.event
        if isinstance(event, CardBlocked):
            self.blocked = True
        elif isinstance(event, PinRefused):
            self.refused, self.tries_left = True, event.tries_left
        self.render_texts()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        session = self.kiosk.services.session
        self.query_one("#pin-title", Static).update(text(f"tui.pin.title.{self.mode}", lang))
        if self.mode is PinMode.ESTABLISHMENT:
            where = text("tui.pin.token", lang, label=session.establishment_label or "")
        else:
            where = text("tui.pin.reader", lang, reader=session.reader or "")
        self.query_one("#pin-reader", Static).update(where)
        field = self.query_one("#pin-input", Input)
        field.placeholder = text("tui.pin.placeholder", lang)
        field.disabled = self.blocked or self.checking
        if not field.disabled:
            field.focus()
        message = self.query_one("#pin-message", Static)
        message.update(self._message(lang))
        message.set_class(self.refused or self.blocked or bool(self.failure), "warning")
        if self.blocked:
            hint = text("tui.pin.hint_locked", lang)
        else:
            hint = text(f"tui.pin.hint.{self.mode}", lang)
        self.query_one("#pin-hint", Static).update(hint)

    def _message(self, lang: str) -> str:
        if self.blocked:
            return text("tui.pin.blocked", lang)
        if self.checking:
            return text("tui.pin.checking", lang)
        if self.failure:
            return self.failure
        if not self.refused:
            return ""
        if self.tries_left == 1:
            return text("tui.pin.last_try", lang)
        if self.tries_left is None:
            return text("tui.pin.wrong", lang)
        return text("tui.pin.tries_left", lang, tries=self.tries_left)
