"""The named login of indirect mode: the agent's name and password, then the establishment PIN.

Seed 000: « L'accès au DMP nécessite une identification nominative, il faut donc que le
PS s’authentifie localement ». Where the site has an agent directory
(``Desk.needs_agent_login``), F5 on the welcome screen opens this screen instead of the
bare establishment PIN: three masked-where-secret fields, Enter moving from one to the
next, the last one submitting all three to :meth:`kiosk.services.desk.Desk.login_indirect`.
The directory is asked first; the establishment's token only after it said yes. Where
the site keeps that token's PIN in a file (``[agents] establishment_pin_file``), the PIN
field is not shown and the password submits.

It is a :class:`~kiosk.tui.desk.pin.PinScreen` for the establishment (the app keeps it
while the session asks for that PIN) with two more fields. The password, like the PIN,
is cleared from its field at once and travels in a box the worker empties; a refusal
(wrong name or password, a locked name, a directory that does not answer) is shown
inline with its message.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import Input, Static

from kiosk.errors import KioskError, PinIncorrect, PinLocked
from kiosk.locale import text
from kiosk.tui.desk.pin import PinMode, PinScreen

__all__ = ["AgentLoginScreen"]


class AgentLoginScreen(PinScreen):
    """Name, password and establishment PIN for a named indirect session."""

    KEYS: ClassVar[tuple[tuple[str, str, str], ...]] = PinScreen.KEYS

    def __init__(self) -> None:
        super().__init__(PinMode.ESTABLISHMENT)

    def body(self) -> ComposeResult:
        with Vertical(id="pin"):
            yield Static(markup=False, id="pin-title", classes="title")
            yield Static(markup=False, id="agent-prompt", classes="card")
            with Center(id="agent-name-field"):
                yield Input(max_length=64, id="agent-name")
            with Center(id="agent-password-field"):
                yield Input(password=True, max_length=128, id="agent-password")
            yield Static(markup=False, id="pin-reader", classes="card")
            with Center(id="pin-field"):
                yield Input(password=True, restrict=r"[0-9]*", max_length=16, id="pin-input")
            yield Static(markup=False, id="pin-message", classes="message")
            yield Static(markup=False, id="pin-hint", classes="hint")

    @property
    def asks_pin(self) -> bool:
        """Whether the agent types the establishment PIN too (the site keeps no PIN file)."""
        return self.kiosk.services.desk.asks_establishment_pin

    def on_mount(self) -> None:  # PinScreen's focuses the PIN: the name comes first here
        if not self.asks_pin:
            for selector in ("#pin-reader", "#pin-field"):
                self.query_one(selector).display = False
        self.query_one("#agent-name", Input).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        message.prevent_default()  # PinScreen's handler would submit the PIN alone
        name = self.query_one("#agent-name", Input)
        password = self.query_one("#agent-password", Input)
        pin = self.query_one("#pin-input", Input)
        if message.input is name:
            password.focus()
            return
        if message.input is password and self.asks_pin:
            pin.focus()
            return
        if not (name.value.strip() and password.value and (pin.value or not self.asks_pin)):
            self._focus_first_empty()
            return
        box = [name.value.strip(), password.value, pin.value]
        password.value = pin.value = ""  # off the screen before anyone is asked
        if not self.checking:
            self.checking = True
            self.render_texts()
            self.submit(box)
        del box

    @work(exclusive=True, exit_on_error=False, group="pin")
    async def submit(self, box: list[str]) -> None:
        """One named login with the name, password and PIN in ``box``, which is emptied first."""
        pin, password, name = box.pop(), box.pop(), box.pop()
        try:
            await self.kiosk.services.desk.login_indirect(pin, name, password)
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
            del pin, password
            self.checking = False
        if self.is_attached:
            self.render_texts()

    def render_texts(self) -> None:
        super().render_texts()
        lang = self.kiosk.lang
        self.query_one("#pin-title", Static).update(text("tui.agent_login.title", lang))
        if self.asks_pin:
            prompt = text("tui.agent_login.prompt", lang)
        else:
            prompt = text("tui.agent_login.prompt_no_pin", lang)
        self.query_one("#agent-prompt", Static).update(prompt)
        name = self.query_one("#agent-name", Input)
        password = self.query_one("#agent-password", Input)
        name.placeholder = text("tui.agent_login.name", lang)
        password.placeholder = text("tui.agent_login.password", lang)
        name.disabled = password.disabled = self.checking
        self.query_one("#pin-hint", Static).update(text("tui.agent_login.hint", lang))
        self._focus_first_empty()

    def _focus_first_empty(self) -> None:
        for selector in ("#agent-name", "#agent-password", "#pin-input"):
            field = self.query_one(selector, Input)
            if selector == "#pin-input" and not self.asks_pin:
                return
            if not field.value and not field.disabled:
                field.focus()
                return
