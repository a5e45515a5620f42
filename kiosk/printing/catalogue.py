"""The wording of receipts, labels and test pages, in French and English.

The words live in the user-text catalogue (``kiosk/locale``, keys ``printing.*``).
Receipts address the patient: short sentences, the actions in the order they are done
(DOMAIN.md §1: later logins use a one-time code by SMS or e-mail).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

from kiosk.locale import text

__all__ = ["Wording", "wording"]


@dataclass(frozen=True)
class Wording:
    """Every string a printed page may carry, in one language."""

    receipt_title: str
    receipt_subtitle: str
    printed_on: str
    patient: str
    account_id: str
    credential_caption: str
    credential_hint: str
    portal: str
    scan_me: str
    next_steps_title: str
    next_steps: tuple[str, ...]
    consent_reminder: str
    keep_safe: str
    label_caption: str
    label_family_name: str
    label_given_names: str
    label_sex: str
    label_birth_date: str
    label_birth_place: str
    test_title: str
    test_profile: str
    test_width: str
    test_accents: str
    test_qr: str
    ticket_title: str
    ticket_hint: str


_STEPS = 4  # printing.next_steps.1 … .4 in the catalogue


@cache
def wording(lang: str) -> Wording:
    """The wording for ``lang``; anything but ``en`` is French, the default."""
    lang = "en" if lang == "en" else "fr"
    names = [f.name for f in fields(Wording) if f.name != "next_steps"]
    # Templates such as printed_on keep their {date}: the catalogue holds them escaped.
    found = {name: text(f"printing.{name}", lang) for name in names}
    steps = tuple(text(f"printing.next_steps.{i}", lang) for i in range(1, _STEPS + 1))
    return Wording(next_steps=steps, **found)
