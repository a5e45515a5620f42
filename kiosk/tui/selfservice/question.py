"""One question on one screen: what is asked, why, and two big buttons.

The base of the kiosk's questions (the consent's authorizations one by one, access to
an existing DMP, printing the connection details). A question with a pre-set answer
(emergency access: yes) says so in words and has that button focused; the others have
none, so the patient's answer is always a press of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.locale import text
from kiosk.tui.selfservice.base import VisitScreen

__all__ = ["Question", "QuestionScreen"]


@dataclass(frozen=True)
class Question:
    """The texts of one question, in the patient's language, and its pre-set answer if any."""

    title: str
    explanation: str
    preset: bool | None = None
    yes: str = ""
    """The yes button's label; empty: "Yes"."""
    no: str = ""
    """The no button's label; empty: "No"."""


class QuestionScreen(VisitScreen):
    """Asks :meth:`question`; a press calls :meth:`answered`, once, until :attr:`busy` ends."""

    AUTO_FOCUS = ""  # none (None would take the app's "*", focusing "Yes"): Enter must not answer

    def question(self, lang: str) -> Question:
        """The question now, in ``lang``."""
        raise NotImplementedError

    def can_go_back(self) -> bool:
        """Whether a "Back" button is shown (an earlier question of the same screen)."""
        return False

    def body(self) -> ComposeResult:
        with Vertical(id="question", classes="self"):
            yield Static(markup=False, id="question-title", classes="self-title")
            yield Static(markup=False, id="question-text", classes="self-text")
            yield Static(markup=False, id="question-status", classes="self-text")
            with Horizontal(classes="self-actions"):
                yield Button(id="answer-yes")
                yield Button(id="answer-no")
                yield Button(id="answer-back")

    def on_mount(self) -> None:
        super().on_mount()
        self.focus_preset()

    def focus_preset(self) -> None:
        """Focus the pre-set answer, or nothing: no answer is given by a stray Enter."""
        preset = self.question(self.kiosk.lang).preset
        if preset is None:
            self.set_focus(None)
        else:
            self.query_one("#answer-yes" if preset else "#answer-no", Button).focus()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        asked = self.question(lang)
        self.query_one("#question-title", Static).update(asked.title)
        explanation = asked.explanation
        if asked.preset:
            explanation += "\n" + text("tui.self.preset", lang)
        self.query_one("#question-text", Static).update(explanation)
        status = self.query_one("#question-status", Static)
        status.update(self.status)
        status.display = bool(self.status)
        self.query_one("#answer-yes", Button).label = asked.yes or text("tui.self.yes", lang)
        self.query_one("#answer-no", Button).label = asked.no or text("tui.self.no", lang)
        back = self.query_one("#answer-back", Button)
        back.label = text("tui.self.back", lang)
        back.display = self.can_go_back() and not self.busy
        for button in self.query(Button).results(Button):
            button.disabled = self.busy

    @on(Button.Pressed, "#answer-yes")
    def _yes(self) -> None:
        if not self.busy:
            self.answered(True)

    @on(Button.Pressed, "#answer-no")
    def _no(self) -> None:
        if not self.busy:
            self.answered(False)

    @on(Button.Pressed, "#answer-back")
    def _back(self) -> None:
        if not self.busy:
            self.back()

    def answered(self, yes: bool) -> None:
        """The patient's answer."""
        raise NotImplementedError

    def back(self) -> None:
        """The earlier question again."""
