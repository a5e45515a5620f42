"""The patient's INS as the DMP messages carry it: an HL7 CX ``matricule^^^&OID&ISO^NH``.

The DMP layer needs only this from the domain's ``Ins`` (``Ins.hl7_cx()``,
DOMAIN.md §6): :class:`InsSource` is that port, and :class:`PatientCx` is the
parsed value the builders place in VIHF resource ids, CDA ``patientRole/id`` and XDS
``patientId``. A NIR is personal data, so the value redacts itself in ``repr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from kiosk.dmp.errors import DmpRequestInvalid
from kiosk.dmp.vocabulary import INS_OIDS

__all__ = ["InsSource", "PatientCx"]

_CX = re.compile(r"^(?P<id>[0-9A-Za-z]{13,15})\^\^\^&(?P<oid>[0-9.]+)&ISO\^NH$")


class InsSource(Protocol):
    """Anything that renders a qualified INS as HL7 CX (the domain's ``Ins``)."""

    def hl7_cx(self) -> str:
        """``matricule^^^&OID&ISO^NH``."""
        ...


@dataclass(frozen=True)
class PatientCx:
    """A patient INS (matricule + authority OID) as used in DMP messages."""

    matricule: str
    oid: str

    def __post_init__(self) -> None:
        if self.oid not in INS_OIDS:
            raise DmpRequestInvalid(
                "Identifiant patient refusé : autorité INS inconnue.",
                "Patient identifier refused: unknown INS authority.",
                detail=f"oid={self.oid}",
            )
        if not re.fullmatch(r"[0-9]{6}[0-9AB][0-9]{8}", self.matricule):
            raise DmpRequestInvalid(
                "Identifiant patient refusé : matricule INS mal formé.",
                "Patient identifier refused: malformed INS matricule.",
                detail=f"length={len(self.matricule)}",
            )

    @classmethod
    def parse(cls, value: str) -> PatientCx:
        """Parse ``matricule^^^&OID&ISO^NH``; DmpRequestInvalid otherwise."""
        match = _CX.match(value.strip())
        if match is None:
            raise DmpRequestInvalid(
                "Identifiant patient illisible (format HL7 CX attendu).",
                "Unreadable patient identifier (HL7 CX expected).",
                detail=f"length={len(value)}",
            )
        return cls(match["id"], match["oid"])

    @classmethod
    def of(cls, ins: InsSource) -> PatientCx:
        """The CX of a domain INS."""
        return cls.parse(ins.hl7_cx())

    def hl7_cx(self) -> str:
        """``matricule^^^&OID&ISO^NH``."""
        return f"{self.matricule}^^^&{self.oid}&ISO^NH"

    def __repr__(self) -> str:
        return f"PatientCx(matricule={self.matricule[:1]}…{self.matricule[-2:]}, oid={self.oid!r})"
