"""The information before the consent, in plain words, one page at a time.

Seeds 001, 003 and 004: what the DMP is and holds, who sees it (the patient, the
carers treating them, in an emergency the SAMU unless the patient refuses; every
access traced), and the patient's rights (refuse its creation, hide a document,
block a professional, close it). "I have read it" is one call,
:meth:`SelfService.inform`: the information recorded as given on the kiosk, kept
even if the visit then goes to the desk, so the desk does not repeat it.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.errors import KioskError
from kiosk.locale import text
from kiosk.tui.selfservice.base import VisitScreen

__all__ = ["InformationScreen"]

PAGES = ("what", "who", "rights")


class InformationScreen(VisitScreen):
    """A page of information, Back and Next; "I have read it" on the last."""

    _page = 0

    def body(self) -> ComposeResult:
        with Vertical(id="information", classes="self"):
            yield Static(markup=False, id="information-title", classes="self-title")
            yield Static(markup=False, id="information-text", classes="self-text")
            with Horizontal(classes="self-actions"):
                yield Button(id="information-back")
                yield Button(id="information-next")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#information-next", Button).focus()

    def render_texts(self) -> None:
        lang = self.kiosk.lang
        title = text("tui.self.info.title", lang, page=self._page + 1, pages=len(PAGES))
        self.query_one("#information-title", Static).update(title)
        body = self.status or text(f"tui.self.info.{PAGES[self._page]}", lang)
        self.query_one("#information-text", Static).update(body)
        back = self.query_one("#information-back", Button)
        back.label = text("tui.self.back", lang)
        back.display = self._page > 0
        last = self._page == len(PAGES) - 1
        forward = self.query_one("#information-next", Button)
        forward.label = text("tui.self.read", lang) if last else text("tui.self.next", lang)
        forward.disabled = self.busy

    @on(Button.Pressed, "#information-back")
    def _back(self) -> None:
        if self._page > 0 and not self.busy:
            self._page -= 1
            self.render_texts()
            self.query_one("#information-next", Button).focus()

    @on(Button.Pressed, "#information-next")
    def _next(self) -> None:
        if self.busy:
            return
        if self._page < len(PAGES) - 1:
            self._page += 1
            self.render_texts()
        else:
            self.read()

    @work(exclusive=True, exit_on_error=False)
    async def read(self) -> None:
        """One call: the information recorded as given on the kiosk; then the consent."""
        from kiosk.tui.selfservice.consent import ConsentScreen

        self.working("")
        try:
            await self.kiosk.services.self_service.inform()
        except KioskError as exc:
            self.done(exc.message(self.kiosk.lang))
            self.kiosk.show_error(exc)
            return
        self.done()
        self.show(ConsentScreen(self.admission))
