"""No screen or widget of the kiosk stores its own state under one of Textual's names.

A screen that kept « is the DMP closed » in ``self._closed`` overwrote Textual's own
« is this message pump closed » flag: from then on the screen refused Textual's
messages, and the app hung when it tried to remove it (the desk froze at logout).
This reads every ``self._name = …`` of ``kiosk/tui/`` and every private attribute that
Textual's message pumps, nodes, widgets, screens and app set or define.
"""

from __future__ import annotations

import re
from pathlib import Path

import textual
from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

TUI = Path(__file__).resolve().parents[2] / "kiosk" / "tui"
ASSIGNED = re.compile(r"self\.(_[a-z][a-z_0-9]*)\s*(?::[^=\n]+)?=(?!=)")

# Deliberate: the base screen rebuilds Textual's binding map, which has no public
# setter, so that the keys' labels follow the language (kiosk/tui/base.py).
MEANT = {("base.py", "_bindings")}


def _textual_names() -> set[str]:
    sources = Path(textual.__file__).parent
    names: set[str] = set()
    for module in ("message_pump.py", "dom.py", "widget.py", "screen.py", "app.py"):
        names |= set(ASSIGNED.findall((sources / module).read_text(encoding="utf-8")))
    for cls in (App, Screen, Widget):
        for klass in cls.__mro__:
            names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
    return names


def test_textual_names_are_found() -> None:
    names = _textual_names()
    assert {"_closed", "_closing", "_task", "_running"} <= names


def test_no_kiosk_screen_shadows_textual_state() -> None:
    textual_names = _textual_names()
    clashes = sorted(
        (path.name, name)
        for path in TUI.rglob("*.py")
        for name in set(ASSIGNED.findall(path.read_text(encoding="utf-8")))
        if name in textual_names and (path.name, name) not in MEANT
    )
    assert clashes == []
