"""Who consents for a minor: the legal representative's names and quality, typed by the agent.

Shown by the consent and authorization screens only when the admission says the patient
is a minor (:attr:`Admission.minor`); the names are checked by the domain
(:class:`~kiosk.domain.minors.LegalRepresentative`), the screens show its refusal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select, Static

from kiosk.domain.minors import LegalRepresentative, RepresentativeQuality
from kiosk.locale import text

__all__ = ["RepresentativeForm"]


class RepresentativeForm(Vertical):
    """A note, two names and a quality; :meth:`value` is the representative they give."""

    DEFAULT_CSS = """
    RepresentativeForm { height: auto; }
    RepresentativeForm Horizontal { height: auto; }
    RepresentativeForm Input { width: 1fr; }
    RepresentativeForm Select { width: 32; }
    """

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="representative-note", classes="enrol-ask")
        with Horizontal():
            yield Input(id="representative-family", max_length=80)
            yield Input(id="representative-given", max_length=80)
            yield Select[RepresentativeQuality](
                [(q.value, q) for q in RepresentativeQuality],  # labelled by localise()
                id="representative-quality",
                allow_blank=False,
                value=RepresentativeQuality.PARENT,
            )

    def localise(self, lang: str) -> None:
        """Every label in ``lang``; the agent's typing stays."""
        self.query_one("#representative-note", Static).update(text("tui.representative.note", lang))
        self.query_one("#representative-family", Input).placeholder = text(
            "tui.representative.family_name", lang
        )
        self.query_one("#representative-given", Input).placeholder = text(
            "tui.representative.given_name", lang
        )
        quality: Select[RepresentativeQuality] = self.query_one("#representative-quality", Select)
        chosen = quality.value
        quality.set_options(
            (text(f"tui.representative.quality.{q.value}", lang), q) for q in RepresentativeQuality
        )
        if isinstance(chosen, RepresentativeQuality):
            quality.value = chosen
        # The same value keeps its old label unless its watcher runs again.
        quality.mutate_reactive(Select.value)  # type: ignore[misc]

    def set_disabled(self, disabled: bool) -> None:
        """Frozen while the consent is sent, and once it is recorded."""
        for widget in (*self.query(Input), *self.query(Select)):
            widget.disabled = disabled

    def value(self) -> LegalRepresentative:
        """The representative typed; ``RepresentativeInvalid`` when a name is missing."""
        quality = self.query_one("#representative-quality", Select).value
        return LegalRepresentative(
            self.query_one("#representative-family", Input).value,
            self.query_one("#representative-given", Input).value,
            quality if isinstance(quality, RepresentativeQuality) else RepresentativeQuality.PARENT,
        )

    def clear(self) -> None:
        """Nothing typed stays once the screen goes (the wipe)."""
        for field in self.query(Input):
            field.value = ""
