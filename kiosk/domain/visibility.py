"""Document visibility for the three populations, and its XDS confidentiality codes.

DOMAIN.md §1 and §6: a document is visible or not to health professionals, to the
patient and to the patient's legal representatives, independently — all eight
combinations are valid. In XDS metadata it is ``N`` (HL7 confidentiality) plus one code
of the DMP system per population it is hidden from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.errors import InvalidInput
from kiosk.locale import msg

__all__ = [
    "CODE_SYSTEM_DMP",
    "CODE_SYSTEM_HL7_CONFIDENTIALITY",
    "HIDDEN_FROM_LEGAL_REPRESENTATIVES",
    "HIDDEN_FROM_PATIENT",
    "HIDDEN_FROM_PROFESSIONALS",
    "NORMAL",
    "POPULATIONS",
    "Visibility",
]

CODE_SYSTEM_HL7_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
CODE_SYSTEM_DMP = "1.2.250.1.213.1.1.4.13"
NORMAL = "N"
HIDDEN_FROM_PROFESSIONALS = "MASQUE_PS"
HIDDEN_FROM_PATIENT = "INVISIBLE_PATIENT"
HIDDEN_FROM_LEGAL_REPRESENTATIVES = "INVISIBLE_REPRESENTANTS_LEGAUX"
_DMP_CODES = frozenset(
    {HIDDEN_FROM_PROFESSIONALS, HIDDEN_FROM_PATIENT, HIDDEN_FROM_LEGAL_REPRESENTATIVES}
)


POPULATIONS = ("professionals", "patient", "legal_representatives")
"""The three populations, by the names of :class:`Visibility`'s fields."""


@dataclass(frozen=True)
class Visibility:
    """Who may see a document: professionals, the patient, the legal representatives."""

    professionals: bool = True
    patient: bool = True
    legal_representatives: bool = True

    @classmethod
    def hiding(cls, hidden: Iterable[str]) -> Visibility:
        """Visible to all but the populations named in ``hidden`` (of :data:`POPULATIONS`)."""
        names = set(hidden)
        return cls(*(population not in names for population in POPULATIONS))

    def hidden_from(self) -> tuple[str, ...]:
        """The populations it is hidden from, in :data:`POPULATIONS` order."""
        return tuple(p for p in POPULATIONS if not getattr(self, p))

    def confidentiality_codes(self) -> list[tuple[str, str]]:
        """The XDS ``confidentialityCode`` values as (code, code system), ``N`` first."""
        codes = [(NORMAL, CODE_SYSTEM_HL7_CONFIDENTIALITY)]
        if not self.professionals:
            codes.append((HIDDEN_FROM_PROFESSIONALS, CODE_SYSTEM_DMP))
        if not self.patient:
            codes.append((HIDDEN_FROM_PATIENT, CODE_SYSTEM_DMP))
        if not self.legal_representatives:
            codes.append((HIDDEN_FROM_LEGAL_REPRESENTATIVES, CODE_SYSTEM_DMP))
        return codes

    @classmethod
    def from_codes(cls, codes: Iterable[tuple[str, str]]) -> Visibility:
        """The visibility that ``codes`` describe; an unknown DMP code is refused.

        Codes of other systems (``N`` and any other HL7 confidentiality code) say nothing
        about the three populations and are ignored, so that documents from other
        software still read; an unknown code in the DMP system could hide a document
        from someone and is refused rather than guessed.
        """
        hidden: set[str] = set()
        for code, system in codes:
            if system != CODE_SYSTEM_DMP:
                continue
            if code not in _DMP_CODES:
                raise InvalidInput(
                    msg("domain.visibility.visibility_from_codes", code=code),
                    detail="visibility_code",
                )
            hidden.add(code)
        return cls(
            professionals=HIDDEN_FROM_PROFESSIONALS not in hidden,
            patient=HIDDEN_FROM_PATIENT not in hidden,
            legal_representatives=HIDDEN_FROM_LEGAL_REPRESENTATIVES not in hidden,
        )
