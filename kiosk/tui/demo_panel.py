"""The demo's control panel (F12, ``kiosk demo`` only): drive the simulated world from the TUI.

Insert or pull any fixture card, scan a fixture person's INS Data Matrix, cut and
restore the network to INSi and the DMP, empty and refill the printer. Every action
goes through :class:`~kiosk.tui.ports.DemoControl`, which does what ``kiosk sim …``
does from another terminal; the panel itself changes nothing on screen but its own
list: the app hears of the card through its card monitor, of the scan through its
scanner, of the network through its probes, as it would of the real thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.messages import LanguageChanged

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp
    from kiosk.tui.ports import DemoControl

__all__ = ["DemoPanel"]

_NETWORK_TARGETS = ("insi", "dmp", "all")
_PRINTER = ("paper-out", "refill")


class DemoPanel(ModalScreen[None]):
    """One list of actions on the simulated world; Enter runs the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Fermer / Close")]
    DEFAULT_CSS = """
    DemoPanel { align: center middle; }
    #demo-box {
        width: 80%; height: 80%; padding: 1 2;
        background: $panel; border: thick $accent;
    }
    #demo-actions { height: 1fr; }
    #demo-result { height: auto; padding: 1 0 0 0; }
    #demo-hint { color: $text-muted; }
    """

    def __init__(self, control: DemoControl) -> None:
        super().__init__(id="demo-panel")
        self.control = control
        self.inserted: set[str] = set()
        """The cards in a slot, as the world last said."""
        self.done: str = ""
        """What the last action did, for the line under the list."""

    @property
    def kiosk(self) -> KioskApp:
        """The app, typed."""
        return cast("KioskApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="demo-box"):
            yield Static(markup=False, id="demo-title", classes="title")
            yield OptionList(id="demo-actions")
            yield Static(markup=False, id="demo-result")
            yield Static(markup=False, id="demo-hint")

    def on_mount(self) -> None:
        self.render_texts()
        self.refresh_cards()

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.render_texts()

    def action_close(self) -> None:
        """Back to the screen underneath."""
        self.dismiss()

    def options(self) -> list[Option]:
        """Every action, in the app's language; the id says what it does."""
        lang = self.kiosk.lang
        found: list[Option] = []
        for name, description in self.control.cards():
            if name in self.inserted:
                found.append(Option(text("tui.demo.pull", lang, name=name), id=f"pull:{name}"))
            else:
                shown = text("tui.demo.insert", lang, name=name, description=description)
                found.append(Option(shown, id=f"insert:{name}"))
        for person in self.control.people():
            found.append(Option(text("tui.demo.scan", lang, person=person), id=f"scan:{person}"))
        for op in ("cut", "restore"):
            for target in _NETWORK_TARGETS:
                service = text("tui.demo.network_all", lang) if target == "all" else target.upper()
                label = text(f"tui.demo.network_{op}", lang, service=service)
                found.append(Option(label, id=f"{op}:{target}"))
        for command in _PRINTER:
            label = text(f"tui.demo.printer_{command.replace('-', '_')}", lang)
            found.append(Option(label, id=f"printer:{command}"))
        return found

    def render_texts(self) -> None:
        """Titles, the list (its highlight kept) and the last result, in the app's language."""
        lang = self.kiosk.lang
        self.query_one("#demo-title", Static).update(text("tui.demo.title", lang))
        self.query_one("#demo-hint", Static).update(text("tui.demo.hint", lang))
        self.query_one("#demo-result", Static).update(self.done)
        actions = self.query_one("#demo-actions", OptionList)
        highlighted = actions.highlighted
        actions.clear_options()
        actions.add_options(self.options())
        actions.highlighted = highlighted if highlighted is not None else 0

    @work(exclusive=True, exit_on_error=False, group="demo-cards")
    async def refresh_cards(self) -> None:
        """Ask the world which cards are in a slot, so each card offers insert or pull."""
        try:
            self.inserted = set(await self.control.inserted())
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        self.render_texts()

    @on(OptionList.OptionSelected, "#demo-actions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.run(event.option.id, str(event.option.prompt))

    @work(exclusive=True, exit_on_error=False, group="demo")
    async def run(self, action: str, label: str) -> None:
        """Do ``action`` (``insert:adult``, ``cut:insi``…) on the world; say it is done."""
        verb, _, argument = action.partition(":")
        lang = self.kiosk.lang
        done = text("tui.demo.done", lang, action=label)
        try:
            if verb == "insert":
                await self.control.insert_card(argument)
            elif verb == "pull":
                await self.control.pull_card(argument)
            elif verb == "scan":
                listeners = await self.control.scan(argument)
                done = text("tui.demo.scanned", lang, action=label, listeners=listeners)
            elif verb in ("cut", "restore"):
                services = ("insi", "dmp") if argument == "all" else (argument,)
                await self.control.network(verb, services)
            elif verb == "printer":
                await self.control.printer(argument)
        except KioskError as exc:
            self.kiosk.show_error(exc)
            return
        self.done = done
        if verb in ("insert", "pull"):
            self.refresh_cards()
        else:
            self.query_one("#demo-result", Static).update(done)
