"""The DMP is created: the Mon espace santé connection details? Only if the patient asks.

"No thanks" is one call, :meth:`SelfService.conclude` with no number: the visit ends.
"Print" asks for the mobile number the one-time codes go to (:mod:`.mobile`).
"""

from __future__ import annotations

from textual import work

from kiosk.tui.selfservice.mobile import MobileScreen, conclude
from kiosk.tui.selfservice.question import Question, QuestionScreen

__all__ = ["DetailsScreen"]


class DetailsScreen(QuestionScreen):
    """Print my connection details? Print / No thanks."""

    def question(self) -> Question:
        return Question(
            "tui.self.print_title",
            "tui.self.print_ask",
            yes="tui.self.print",
            no="tui.self.no_print",
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
