"""Who a CPS/CPE card or an establishment token speaks for, from its certificate and data objects.

The signature certificate is the authority for identity (national identifier in
``CN``, names in ``SN``/``GN``, G15 profession code in ``title``; for an
establishment, structure id in ``OU`` and name in ``O``); the data objects
``CPS_INFO_PS`` and ``CPS_ACTIVITY_nn_PS`` add role, specialty, structure and sector
(DOMAIN.md §5). Their ``key=value`` encoding is the simulator's (kiosk/sim/hsm.py):
the real layout is to be verified against the Cryptolib CPS manual.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["ProfessionalIdentity", "parse_data_object", "professional_from"]

_INFO = "CPS_INFO_PS"
_ACTIVITY_PREFIX = "CPS_ACTIVITY_"


def parse_data_object(value: bytes) -> dict[str, str]:
    """Read a ``key=value`` data object; unknown or malformed lines are skipped."""
    fields: dict[str, str] = {}
    for line in value.decode("utf-8", errors="replace").splitlines():
        key, sep, text = line.partition("=")
        if sep and key.strip():
            fields[key.strip()] = text.strip()
    return fields


@dataclass(frozen=True)
class ProfessionalIdentity:
    """Who is logged in: from the signature certificate, completed by the data objects."""

    national_id: str
    given_name: str
    family_name: str
    profession_code: str
    role: str
    specialty: str
    structure_id: str
    sector: str
    organisation: str

    @property
    def display_name(self) -> str:
        """Given name then family name (or the organisation for an establishment)."""
        name = f"{self.given_name} {self.family_name}".strip()
        return name or self.organisation

    def __repr__(self) -> str:
        # A person's identifiers and name stay out of logs and tracebacks.
        return f"ProfessionalIdentity(role={self.role!r}, profession={self.profession_code!r})"


def professional_from(cert: x509.Certificate, data: dict[str, bytes]) -> ProfessionalIdentity:
    """The identity a token shows: certificate first, data objects (by label) for the rest."""

    def attr(oid: x509.ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    info = parse_data_object(data.get(_INFO, b""))
    activities = sorted(k for k in data if k.startswith(_ACTIVITY_PREFIX))
    activity = parse_data_object(data[activities[0]]) if activities else {}
    organisation = attr(NameOID.ORGANIZATION_NAME)
    # The certificate is the authority for who this is; data objects add the rest.
    return ProfessionalIdentity(
        national_id=attr(NameOID.COMMON_NAME)
        if not organisation
        else attr(NameOID.ORGANIZATIONAL_UNIT_NAME),
        given_name=attr(NameOID.GIVEN_NAME),
        family_name=attr(NameOID.SURNAME),
        profession_code=attr(NameOID.TITLE) or info.get("profession_code", ""),
        role=info.get("role", "establishment" if organisation else ""),
        specialty=info.get("specialty", ""),
        structure_id=activity.get("structure_id", attr(NameOID.ORGANIZATIONAL_UNIT_NAME)),
        sector=activity.get("sector", ""),
        organisation=organisation,
    )
