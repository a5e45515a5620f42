"""The key bar at the bottom of every screen: the screen's keys and what each does.

What Textual's ``Footer`` shows, drawn as one line of text. ``Footer`` builds a widget
per key and builds them all again at every change of focus or bindings; on the
desk that was a quarter of each screen's cost (hundreds of style updates per
admission). Here a change redraws one text. A key is clicked as in the ``Footer``:
a click on a key or its words sends the key (``app.simulate_key``), so the mouse
does what the keyboard does, where the terminal sends it.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

__all__ = ["KeyBar"]

_KEY_STYLE = "bold $footer-key-foreground"
_WORDS_STYLE = "$footer-description-foreground"


class KeyBar(Static):
    """One line: each shown binding of the screen as its key, then its description."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        color: $footer-foreground;
        background: $footer-background;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="keys")
        self._spans: list[tuple[int, int, str]] = []
        """Where each key is drawn: first cell, cell after its words, the key."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.draw()

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.draw()

    def draw(self) -> None:
        """Write the screen's keys as they stand now (once per action, disabled ones dim)."""
        parts: list[Content] = []
        spans: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        at = 0
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            part = Content.styled(f" {self.app.get_key_display(binding)} ", _KEY_STYLE)
            part += Content.styled(f"{binding.description} ", _WORDS_STYLE)
            parts.append(part if enabled else part.stylize("dim"))
            if enabled:
                spans.append((at, at + part.cell_length, binding.key))
            at += part.cell_length
        self._spans = spans
        self.update(Content("").join(parts))

    def on_click(self, event: events.Click) -> None:
        """A click on a key (or its words) is that key pressed."""
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
