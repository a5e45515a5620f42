"""The self-service kiosk's rules: when to send the patient to the desk, and when to wipe.

ARCHITECTURE.md §9: the kiosk in the hall works in indirect mode, one question per
screen, "and a route to the desk (ticket) when identity cannot be qualified"; an
inactivity timeout (default 60 s) and the card's removal wipe everything. Issue 18
lists the cases the kiosk may not finish alone; each is a :class:`RouteReason` with a
short code printed on the ticket, so the desk knows where to start.

Presence (decided here, README "Self-service"): the patient is *active* until
``timeout_s`` has passed since their last touch, then *asked* ("Are you still there?")
for ``countdown_s``, then the session has *expired* and is wiped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Farewell", "Presence", "PresenceCheck", "RouteReason", "presence"]


class RouteReason(StrEnum):
    """Why the self-service kiosk sends the patient to the admission desk."""

    NOT_QUALIFIED = "not_qualified"
    """No identity qualified here: only an agent checks the identity document (RNIV)."""
    INSI_MISMATCH = "insi_mismatch"
    """The card and INSi disagree on a trait: an agent must see the document."""
    SEVERAL_IDENTITIES = "several_identities"
    """INSi found several identities: never picked by the kiosk."""
    NO_IDENTITY = "no_identity"
    """INSi found none."""
    MINOR = "minor"
    """A minor: the legal representative consents, at the desk."""
    DMP_CLOSED = "dmp_closed"
    """The DMP is closed: reopened only at the patient's request, at the desk."""
    OPPOSED = "opposed"
    """The patient opposed the DMP's creation: nothing to do here."""
    SERVICE_DOWN = "service_down"
    """INSi or the DMP does not answer."""
    CARD_UNREADABLE = "card_unreadable"
    """The Vitale card could not be read."""
    DMP_REFUSED = "dmp_refused"
    """The DMP refused this establishment's request (access forbidden, creation failed)."""

    @property
    def code(self) -> str:
        """The short code printed on the ticket (``BL-01`` … ``BL-09``)."""
        return f"BL-{list(RouteReason).index(self) + 1:02d}"


class Farewell(StrEnum):
    """How the visit ended, said on the attract screen until the card is taken back.

    Nothing of the patient is in it: the kiosk has already forgotten them.
    """

    CREATED = "created"
    """The DMP was created (the connection details printed if asked)."""
    DEFERRED = "deferred"
    """The creation is queued: the DMP does not answer now; it is sent when it does."""
    NOT_CREATED = "not_created"
    """The patient chose not to create a DMP."""
    AUTHORIZED = "authorized"
    """This establishment may now reach the patient's existing DMP."""
    ALREADY = "already"
    """The patient's DMP already allowed this establishment: nothing to do."""
    DECLINED = "declined"
    """The patient refused this establishment's access to their DMP."""


class Presence(StrEnum):
    """Whether the patient is still at the kiosk."""

    ACTIVE = "active"
    ASKING = "asking"
    """"Are you still there?" is shown, with its countdown."""
    EXPIRED = "expired"
    """Nobody answered: wipe."""


@dataclass(frozen=True)
class PresenceCheck:
    """The presence now, and the seconds left before the wipe while asking."""

    state: Presence
    seconds_left: float


def presence(
    last_activity: datetime, now: datetime, *, timeout_s: float, countdown_s: float
) -> PresenceCheck:
    """Active until ``timeout_s`` after the last touch, asking for ``countdown_s``, then expired."""
    idle = max(0.0, (now - last_activity).total_seconds())
    if idle < timeout_s:
        return PresenceCheck(Presence.ACTIVE, timeout_s + countdown_s - idle)
    if idle < timeout_s + countdown_s:
        return PresenceCheck(Presence.ASKING, timeout_s + countdown_s - idle)
    return PresenceCheck(Presence.EXPIRED, 0.0)
