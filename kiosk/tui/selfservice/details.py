"""The DMP is created: print the Mon espace santé connection details? Only if asked.

One call, :meth:`SelfService.conclude`: printed when the patient says yes, then the
visit ends. A printer fault is said here and the visit stays open: try again, or no.
"""

from __future__ import annotations

from textual import work

from kiosk.errors import KioskError
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
        self.conclude(yes)

    @work(exclusive=True, exit_on_error=False)
    async def conclude(self, print_details: bool) -> None:
        """One call: printed if asked; the visit ends."""
        self.working("tui.self.printing" if print_details else "tui.self.recording")
        try:
            await self.kiosk.services.self_service.conclude(print_details=print_details)
        except KioskError as exc:
            self.done(exc.message(self.kiosk.lang))
            self.kiosk.show_error(exc)
            return
        self.kiosk.call_later(self.kiosk.reconcile_screens)
