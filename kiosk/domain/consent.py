"""Information given, consent to creation and access authorizations, as value objects.

DOMAIN.md §1: creating a DMP requires the patient informed (the brochure is the usual
medium), the patient's consent, and records the authorization for the establishment's
professionals and the emergency accesses — "bris de glace" and regulation centre (SAMU),
both **yes by default**, which the patient may refuse. Instants are timezone-aware so
that a record means the same thing on every kiosk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kiosk.domain.minors import LegalRepresentative
from kiosk.errors import InvalidInput
from kiosk.locale import Message, msg

__all__ = [
    "Consent",
    "ConsentError",
    "ConsentRecord",
    "InformationChannel",
    "InformationGiven",
]


class ConsentError(InvalidInput):
    """A consent record that contradicts itself or the rules of DMP creation."""

    code = "CONSENT_INVALID"


def _require_aware(moment: datetime, what: Message) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConsentError(msg("domain.consent.naive_time", what=what), detail="naive_datetime")


class InformationChannel(StrEnum):
    """Where the patient was informed (seed 001: information and consent "peuvent être
    déconnectés dans le temps", so the record says how it happened)."""

    DESK = "desk"
    """Told by the admission agent."""
    KIOSK = "kiosk"
    """Read on the self-service kiosk's screens."""
    LEAFLET = "leaflet"
    """The paper leaflet alone, handed over or sent before the visit."""


@dataclass(frozen=True)
class InformationGiven:
    """The patient was informed about the DMP; ``brochure`` says the leaflet was handed over.

    Information shown on the self-service screen counts as given, with ``brochure=False``
    when the patient declined the paper leaflet. ``by`` names who informed (the agent,
    or the kiosk's installation id), ``brochure_version`` the leaflet's edition the site
    hands out: consent may be taken at a later visit, on the strength of this record.
    """

    brochure: bool
    at: datetime
    channel: InformationChannel = InformationChannel.DESK
    by: str = ""
    brochure_version: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.at, msg("domain.consent.information_given_post_init"))


@dataclass(frozen=True)
class Consent:
    """What the patient agreed to, recorded by whom and when."""

    creation: bool
    establishment_access: bool
    emergency_access: bool = True
    regulation_centre_access: bool = True
    recorded_at: datetime = field(kw_only=True)
    recorded_by: str = field(kw_only=True)
    representative: LegalRepresentative | None = field(default=None, kw_only=True)
    """Who consented for the patient (a minor's legal representative, a guardian)."""

    def __post_init__(self) -> None:
        _require_aware(self.recorded_at, msg("domain.consent.consent_post_init_3"))
        if not self.recorded_by.strip():
            raise ConsentError(
                msg("domain.consent.consent_post_init"),
                detail="recorded_by_empty",
            )
        if self.establishment_access and not self.creation:
            raise ConsentError(
                msg("domain.consent.consent_post_init_2"),
                detail="access_without_creation",
            )

    @property
    def refused(self) -> bool:
        """Whether the patient declined the creation of a DMP."""
        return not self.creation


@dataclass(frozen=True)
class ConsentRecord:
    """The information given and the consent, checked together before a DMP creation."""

    information: InformationGiven | None
    consent: Consent

    def __post_init__(self) -> None:
        if self.consent.creation and self.information is None:
            raise ConsentError(
                msg("domain.consent.consent_record_post_init"),
                detail="creation_without_information",
            )
        if self.information is not None and self.information.at > self.consent.recorded_at:
            raise ConsentError(
                msg("domain.consent.consent_record_post_init_2"),
                detail="information_after_consent",
            )

    @property
    def allows_creation(self) -> bool:
        """Whether this record allows the DMP creation transaction (TD1.1)."""
        return self.consent.creation
