"""The patient has a DMP already (Mon espace santé): may this hospital read it?

One question, one call: :meth:`SelfService.authorize` records the answer (TD0.3 when
yes) and ends the visit; the attract screen then says what was recorded.
"""

from __future__ import annotations

from textual import work

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.selfservice.question import Question, QuestionScreen

__all__ = ["AuthorizeScreen"]


class AuthorizeScreen(QuestionScreen):
    """Access by this establishment's carers to the patient's existing DMP."""

    def question(self, lang: str) -> Question:
        return Question(
            text("tui.self.question.authorize", lang), text("tui.self.explain.authorize", lang)
        )

    def answered(self, yes: bool) -> None:
        self.authorize(yes)

    @work(exclusive=True, exit_on_error=False)
    async def authorize(self, agreed: bool) -> None:
        """One call: the answer recorded; the visit ends."""
        self.working(text("tui.self.recording", self.kiosk.lang))
        try:
            await self.kiosk.services.self_service.authorize(agreed=agreed)
        except KioskError as exc:
            self.done(exc.message(self.kiosk.lang))
            self.kiosk.show_error(exc)
            return
        self.visit_ended()
