"""Who are you? The card's beneficiaries as big buttons; then INSi, or the way to the desk.

One service call each: the card read (begun with the visit) and, once a person is
chosen, :meth:`SelfService.identify`, which checks the identity and the DMP's status
and says where the visit goes: the information before a creation, the question of
access to an existing DMP, the route screen (the ticket printed), or the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Static

from kiosk.domain.selfservice import RouteReason
from kiosk.domain.vitale import Beneficiary, shown_birth_date
from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.services.stages import Stage
from kiosk.tui.selfservice.authorize import AuthorizeScreen
from kiosk.tui.selfservice.base import VisitScreen
from kiosk.tui.selfservice.information import InformationScreen
from kiosk.tui.selfservice.route import RouteScreen

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["WhoScreen"]

_CHILD = "06"  # the Vitale quality code of a child beneficiary (DOMAIN.md §2)


class WhoScreen(VisitScreen):
    """A button per beneficiary of the card."""

    def __init__(self, admission: Admission) -> None:
        super().__init__(admission)
        self._people: tuple[Beneficiary, ...] = ()
        self.busy = True  # the card is being read

    def body(self) -> ComposeResult:
        with Vertical(id="who", classes="self"):
            yield Static(markup=False, id="who-title", classes="self-title")
            # not focusable itself: the arrows go from person to person, never to the list
            yield VerticalScroll(id="who-people", classes="self-choices", can_focus=False)
            yield Static(markup=False, id="who-outcome", classes="self-text")

    def on_mount(self) -> None:
        super().on_mount()
        self.read()

    @work(exclusive=True, exit_on_error=False)
    async def read(self) -> None:
        """The card's beneficiaries (the read began with the visit)."""
        try:
            people = await self.kiosk.services.self_service.read_card(self.kiosk.lang)
        except KioskError as exc:
            self.status = exc.message(self.kiosk.lang)
            people = ()
        if isinstance(people, RouteReason):
            self.show(RouteScreen(self.admission, people))
            return
        self._people = people
        self.busy = False
        choices = self.query_one("#who-people", VerticalScroll)
        await choices.remove_children()
        await choices.mount_all(
            Button(id=f"who-{i}", classes="self-choice") for i in range(len(self._people))
        )
        self.render_texts()
        if self._people:
            self.query_one("#who-0", Button).focus()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        reading = self.busy and not self._people  # busy later is the identity being checked
        title = text("tui.self.reading", lang) if reading else text("tui.self.who", lang)
        self.query_one("#who-title", Static).update(title)
        for i, person in enumerate(self._people):
            label = text(
                "tui.self.person",
                lang,
                given=person.given_name.title(),
                family=person.family_name,
                born=shown_birth_date(person.birth_date),
            )
            if person.quality == _CHILD:
                label += " · " + text("tui.self.child", lang)
            for button in self.query(f"#who-{i}").results(Button):
                button.label = label
        self.query_one("#who-outcome", Static).update(self.status)

    @on(Button.Pressed, ".self-choice")
    def _chosen(self, event: Button.Pressed) -> None:
        if not self.busy and event.button.id:
            self.identify(int(event.button.id.removeprefix("who-")))

    @work(exclusive=True, exit_on_error=False)
    async def identify(self, index: int) -> None:
        """One call: INSi, the kiosk's rules and the DMP's status; then the next screen."""
        lang = self.kiosk.lang
        self.working(text("tui.self.checking", lang))
        try:
            outcome = await self.kiosk.services.self_service.identify(
                index, self._people[index], lang
            )
        except KioskError as exc:
            self.done(exc.message(lang))
            self.kiosk.show_error(exc)
            return
        self.busy = False  # "Checking…" stays until the next screen is shown
        self.render_texts()
        if isinstance(outcome, RouteReason):
            self.show(RouteScreen(self.admission, outcome))
        elif outcome is Stage.NO_DMP:
            self.show(InformationScreen(self.admission))
        elif outcome is Stage.NEEDS_AUTHORIZATION:
            self.show(AuthorizeScreen(self.admission))
        else:  # nothing to do: the visit is finished
            self.visit_ended()
