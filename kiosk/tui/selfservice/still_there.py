"""Are you still there? The countdown before the wipe; any key or touch says yes.

Pushed by the app when :meth:`SelfService.check_presence` says *asking*; the seconds
left come from the service's clock, redrawn at each check. It is dismissed by any key
or click (the patient is there), or by the wipe.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from kiosk.locale import text

__all__ = ["StillThereScreen"]


class StillThereScreen(ModalScreen[None]):
    """A question and the seconds left."""

    def __init__(self, seconds_left: float) -> None:
        super().__init__()
        self._left = seconds_left

    def compose(self) -> ComposeResult:
        with Vertical(id="still-there", classes="self"):
            yield Static(markup=False, id="still-there-title", classes="self-title")
            yield Static(markup=False, id="still-there-left", classes="self-text")

    def on_mount(self) -> None:
        self.render_texts()

    def count(self, seconds_left: float) -> None:
        """The seconds left, as the last check said."""
        self._left = seconds_left
        self.render_texts()

    def render_texts(self) -> None:
        lang = getattr(self.app, "lang", "fr")
        self.query_one("#still-there-title", Static).update(text("tui.self.still_there", lang))
        self.query_one("#still-there-left", Static).update(
            text("tui.self.still_there_left", lang, seconds=max(0, round(self._left)))
        )

    def on_key(self) -> None:
        self._here()

    def on_click(self) -> None:
        self._here()

    def _here(self) -> None:
        self.app.services.self_service.touch()  # type: ignore[attr-defined]
        self.dismiss()
