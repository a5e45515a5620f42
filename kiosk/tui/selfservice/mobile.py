"""The mobile number for the one-time codes, typed on big keys; then the details printed.

TD1.5 (DOMAIN.md §5) needs a mobile number or an e-mail address for the web account's
one-time codes; the kiosk asks for the number only (a touchscreen has digits, not a
keyboard: an e-mail address is taken at the desk). Overseas numbers are accepted as
at the desk (+262, +590, +596, +594, +269). One call, :meth:`SelfService.conclude`:
the account opened, the details printed, the visit ended. A number the service
refuses or a printer fault is said here, and the patient may correct or go back.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.selfservice.base import VisitScreen

__all__ = ["MobileScreen", "conclude"]

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "0", "⌫")
_MAX = 20  # "+262 692 12 34 56" and a margin


async def conclude(screen: VisitScreen, mobile: str | None) -> None:
    """The one call of both screens: the details printed if a number is given; the end."""
    kiosk = screen.kiosk
    lang = kiosk.lang
    screen.working(text("tui.self.printing", lang) if mobile else text("tui.self.recording", lang))
    try:
        await kiosk.services.self_service.conclude(mobile=mobile)
    except KioskError as exc:
        screen.done(exc.message(kiosk.lang))
        kiosk.show_error(exc)
        return
    screen.visit_ended()


class MobileScreen(VisitScreen):
    """The number as typed, a keypad, Print and Back."""

    def body(self) -> ComposeResult:
        with Horizontal(id="mobile", classes="self"):
            with Vertical(id="mobile-left"):
                yield Static(markup=False, id="mobile-title", classes="self-title")
                yield Input(
                    id="mobile-number", restrict=r"[0-9+ ]*", max_length=_MAX, select_on_focus=False
                )
                yield Static(markup=False, id="mobile-status", classes="self-text")
                with Horizontal(classes="self-actions"):
                    yield Button(id="mobile-print")
                    yield Button(id="mobile-back")
            with Grid(id="mobile-keypad"):
                for i, key in enumerate(KEYS):
                    yield Button(key, id=f"key-{i}", classes="mobile-key")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#mobile-number", Input).focus()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        self.query_one("#mobile-title", Static).update(text("tui.self.mobile", lang))
        status = self.query_one("#mobile-status", Static)
        status.update(self.status or text("tui.self.mobile_hint", lang))
        self.query_one("#mobile-print", Button).label = text("tui.self.print", lang)
        self.query_one("#mobile-back", Button).label = text("tui.self.back", lang)
        for button in self.query(Button).results(Button):
            button.disabled = self.busy

    @on(Button.Pressed, ".mobile-key")
    def _key(self, event: Button.Pressed) -> None:
        number = self.query_one("#mobile-number", Input)
        key = str(event.button.label)
        if key == "⌫":
            number.value = number.value[:-1]
        elif len(number.value) < _MAX:
            number.value += key
        number.cursor_position = len(number.value)

    @on(Input.Submitted, "#mobile-number")
    @on(Button.Pressed, "#mobile-print")
    def _print(self) -> None:
        number = self.query_one("#mobile-number", Input).value.strip()
        if self.busy:
            return
        if not number:
            self.status = text("tui.self.mobile_missing", self.kiosk.lang)
            self.render_texts()
            return
        self.print_details(number)

    @on(Button.Pressed, "#mobile-back")
    def _back(self) -> None:
        if not self.busy:
            self.dismiss()

    @work(exclusive=True, exit_on_error=False)
    async def print_details(self, mobile: str) -> None:
        """One call: the web account opened, the details printed; the visit ends."""
        await conclude(self, mobile)
