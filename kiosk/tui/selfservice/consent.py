"""The consent, one authorization per screen: creation, this hospital, emergency, SAMU.

Seed 001: the DMP is created only with the patient's express consent; emergency
("bris de glace") and SAMU-Centre 15 access are open unless the patient refuses
(seed 003: « sauf opposition du patient »), so those two are pre-set to yes and say
so. No to the creation asks nothing more. The last answer is one service call:
:meth:`SelfService.consent`, which records the consent and sends the creation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from kiosk.domain.selfservice import RouteReason
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.selfservice.details import DetailsScreen
from kiosk.tui.selfservice.question import Question, QuestionScreen
from kiosk.tui.selfservice.route import RouteScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["ConsentScreen"]

CHOICES = ("creation", "establishment_access", "emergency_access", "regulation_centre_access")
_PRESET = {"emergency_access": True, "regulation_centre_access": True}


class ConsentScreen(QuestionScreen):
    """The four questions in turn; the answers recorded at the last."""

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._step = 0
        self._answers: dict[str, bool] = {}

    def question(self, lang: str) -> Question:
        choice = CHOICES[self._step]
        return Question(
            text(f"tui.self.question.{choice}", lang),
            text(f"tui.self.explain.{choice}", lang),
            preset=_PRESET.get(choice),
        )

    def can_go_back(self) -> bool:
        return self._step > 0

    def answered(self, yes: bool) -> None:
        self._answers[CHOICES[self._step]] = yes
        if self._step + 1 < len(CHOICES) and self._answers["creation"]:
            self._step += 1
            self._turn()
        else:
            self.record()

    def back(self) -> None:
        self._step -= 1
        self._turn()

    def _turn(self) -> None:
        self.render_texts()
        self.focus_preset()

    @work(exclusive=True, exit_on_error=False)
    async def record(self) -> None:
        """One call: the consent recorded, the creation sent (awaited while the DMP answers)."""
        creation = self._answers["creation"]
        lang = self.kiosk.lang
        self.working(
            text("tui.self.creating", lang) if creation else text("tui.self.recording", lang)
        )
        try:
            outcome = await self.kiosk.services.self_service.consent(
                lang,
                creation=creation,
                establishment_access=creation and self._answers["establishment_access"],
                emergency_access=creation and self._answers["emergency_access"],
                regulation_centre_access=creation and self._answers["regulation_centre_access"],
            )
        except KioskError as exc:
            self.done(exc.message(lang))
            self.kiosk.show_error(exc)
            return
        if isinstance(outcome, RouteReason):
            self.show(RouteScreen(self.admission, outcome))
        elif outcome is Stage.CREATED:
            self.show(DetailsScreen(self.admission))
        else:  # queued or not wanted: the visit is finished
            self.visit_ended()
