"""Who may call which transaction of the simulated DMP, and in which access mode.

Used by :class:`kiosk.sim.dmp.service.DmpSimulator` once the VIHF is verified, before
any state changes. Two rule sets, each refusal a :class:`Denial` the service turns
into its SOAP fault:

* **Habilitations** (DOMAIN.md §1, §5): the table shared with the kiosk's local
  pre-check (``kiosk/data/habilitations.toml`` read by
  :class:`~kiosk.domain.habilitation.HabilitationTable`), so the simulator refuses
  exactly what the kiosk expects it to refuse. The profile comes from the VIHF: the
  authentication mode (``DIRECTE``/``INDIRECTE``), the G15 profession of the role
  attribute, and the local role — ``professional`` when a G15 profession is stated,
  ``admission`` for establishment staff (national id ``3…``, a CPE without a health
  profession), nothing otherwise. The VIHF does not say whether staff work at the
  admission desk or as secretaries; both have the same rights in the shipped table.
* **Emergency access** (DOMAIN.md §1, §6): ``brisDeGlace`` is refused when the
  patient refused emergency access at creation, and its declared patient (family
  name, birth date) must be the record's; ``urgence`` (regulation centre) is refused
  when the patient refused regulation-centre access. Both are traced with their
  purpose and justification by the service.
* **Consultation** (TD3.1, TD3.2): an open DMP and the structure's authorization,
  for which an emergency mode the patient did not refuse stands in.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from kiosk.dmp.attributes import AttributeChange
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    ClosureRequest,
    CreationRequest,
    ExistenceQuery,
    ReactivationRequest,
    WebAccountRequest,
)
from kiosk.dmp.vihf import AuthMode as VihfAuthMode
from kiosk.dmp.vihf import PurposeOfUse, VihfReading
from kiosk.dmp.vocabulary import ATTR, OID
from kiosk.domain.habilitation import AuthMode, DmpAction, HabilitationDenied, HabilitationTable

__all__ = [
    "REQUEST_ACTIONS",
    "UPDATE_ACTIONS",
    "Denial",
    "PatientFile",
    "check_consultation",
    "check_emergency",
    "check_habilitation",
    "profile_of",
]

REQUEST_ACTIONS: dict[type, DmpAction] = {
    ExistenceQuery: DmpAction.EXISTENCE_TEST,
    AuthorizationRequest: DmpAction.AUTHORIZATION,
    CreationRequest: DmpAction.CREATION,
    ReactivationRequest: DmpAction.REACTIVATION,
    ClosureRequest: DmpAction.CLOSURE,
    WebAccountRequest: DmpAction.WEB_ACCOUNT,
}
"""HL7 v3 request → the habilitation table's action."""
UPDATE_ACTIONS = {
    AttributeChange.DELETE: DmpAction.DELETION,
    AttributeChange.WRONG_PATIENT: DmpAction.WRONG_RECORD_CORRECTION,
}
"""TD3.3 changes that are their own action; the others are TD3.3a attribute updates."""
_MODES = {
    VihfAuthMode.DIRECT.value: AuthMode.DIRECT,
    VihfAuthMode.INDIRECT.value: AuthMode.INDIRECT,
}


@dataclass(frozen=True)
class Denial:
    """Why the service refuses the call: its fault subcode and the reasons in FR and EN."""

    subcode: str
    reason_fr: str
    reason_en: str


@dataclass(frozen=True)
class PatientFile:
    """What the access rules need from a stored DMP: the consent record and declared traits."""

    emergency_access: bool
    regulation_centre_access: bool
    family_name: str
    birth_date: str
    """``YYYYMMDD`` as read on the Vitale card at creation."""

    def __repr__(self) -> str:
        return "PatientFile(<redacted>)"


def profile_of(reading: VihfReading) -> tuple[str, str, AuthMode | None]:
    """The (G15 profession, local role, mode) the habilitation table is asked about."""
    profession = next((r.code for r in reading.roles if r.code_system == OID["g15_profession"]), "")
    if profession:
        role = "professional"
    elif reading.national_id.startswith("3"):
        role = "admission"  # establishment staff (DOMAIN.md §5: national id 3 + structure)
    else:
        role = ""
    return profession, role, _MODES.get(reading.auth_mode)


def check_habilitation(
    table: HabilitationTable, reading: VihfReading, action: DmpAction
) -> Denial | None:
    """A denial unless the table lets the VIHF's profile perform ``action``."""
    profession, role, mode = profile_of(reading)
    if mode is None:  # read_vihf already refuses an unknown mode; never allow one here
        return Denial(
            "dmp:HabilitationInsuffisante",
            "Mode d'authentification inconnu.",
            "Unknown authentication mode.",
        )
    if table.allowed(profession, role, mode, action):
        return None
    denied = HabilitationDenied(action, profession, role, mode)
    return Denial("dmp:HabilitationInsuffisante", denied.message_fr, denied.message_en)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper().strip()


def check_emergency(reading: VihfReading, record: PatientFile | None) -> Denial | None:
    """A denial when the access mode goes against the patient's consent record."""
    if record is None or reading.purpose == PurposeOfUse.NORMAL:
        return None  # no record, no refusal recorded (creation is refused elsewhere)
    if reading.purpose == PurposeOfUse.REGULATION and not record.regulation_centre_access:
        return Denial(
            "dmp:AccesUrgenceRefuse",
            "Le patient a refusé l'accès à son DMP par le centre de régulation.",
            "The patient refused access to the DMP by the regulation centre.",
        )
    if reading.purpose == PurposeOfUse.BREAK_GLASS:
        if not record.emergency_access:
            return Denial(
                "dmp:AccesUrgenceRefuse",
                "Le patient a refusé l'accès en mode bris de glace à son DMP.",
                "The patient refused emergency (break-the-glass) access to the DMP.",
            )
        declared = (
            _fold(reading.first(ATTR["patient_family_name"])),
            reading.first(ATTR["patient_birth_date"]),
        )
        if declared != (_fold(record.family_name), record.birth_date):
            return Denial(
                "dmp:IdentitePatientIncoherente",
                "L'identité déclarée pour le bris de glace n'est pas celle du dossier.",
                "The identity declared for break-the-glass access is not the record's.",
            )
    return None


def check_consultation(reading: VihfReading, *, is_open: bool, authorized: bool) -> Denial | None:
    """A denial unless the DMP is open and the structure authorized, or an emergency mode."""
    # DOMAIN.md §1, §6: the emergency modes stand in for the authorization; a mode the
    # patient refused was already refused by check_emergency.
    emergency = reading.purpose in {PurposeOfUse.BREAK_GLASS, PurposeOfUse.REGULATION}
    if is_open and (authorized or emergency):
        return None
    return Denial(
        "dmp:AccesNonAutorise",
        "Accès au DMP non autorisé par le patient (ou DMP absent ou fermé).",
        "Access to the DMP not authorized by the patient (or no open DMP).",
    )
