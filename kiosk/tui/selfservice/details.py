"""The DMP is created: the Mon espace santé connection details? Only if the patient asks.

"No thanks" is one call, :meth:`SelfService.conclude` with no number: the visit ends.
"Print" asks for the mobile number the one-time codes go to (:mod:`.mobile`).
"""

from __future__ import annotations

from textual import work

from kiosk.locale import text
from kiosk.tui.selfservice.mobile import MobileScreen, conclude
from kiosk.tui.selfservice.question import Question, QuestionScreen

__all__ = ["DetailsScreen"]


class DetailsScreen(QuestionScreen):
    """Print my connection details? Print / No thanks."""

    def question(self, lang: str) -> Question:
        return Question(
            text("tui.self.print_title", lang),
            text("tui.self.print_ask", lang),
            yes=text("tui.self.print", lang),
            no=text("tui.self.no_print", lang),
        )

    def answered(self, yes: bool) -> None:
        if yes:
            self.show(MobileScreen(self.admission))
        else:
            self.decline()

    @work(exclusive=True, exit_on_error=False)
    async def decline(self) -> None:
        """One call: no details wanted; the visit ends."""
        await conclude(self, None)
