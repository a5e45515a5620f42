"""The admission's stages and the events that move it: the whole machine as a table.

Apart from the flow that drives it (``kiosk/services/enrolment.py``) so that the
screens can name a stage without importing what the flow talks to (the DMP's
messages, the outbox): pure, and testable exhaustively.
"""

from __future__ import annotations

from enum import StrEnum

from kiosk.errors import InvalidInput
from kiosk.locale import msg

__all__ = ["TERMINAL", "TRANSITIONS", "Event", "InvalidTransition", "Stage", "advance"]


class Stage(StrEnum):
    """Where the admission stands."""

    START = "start"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    NO_DMP = "no_dmp"
    INFORMED = "informed"
    CONSENT_REFUSED = "consent_refused"
    CREATION_QUEUED = "creation_queued"
    CREATED = "created"
    DEFERRED = "deferred"
    CREATION_FAILED = "creation_failed"
    NEEDS_AUTHORIZATION = "needs_authorization"
    AUTHORIZED = "authorized"
    FORBIDDEN = "forbidden"
    CLOSED = "closed"
    """The DMP is closed: at the patient's request only, in person, TD1.2 reopens it."""
    OPPOSED = "opposed"
    """The patient opposed the creation of a DMP (seed 004): nothing is created."""
    WEB_ACCOUNT_OPEN = "web_account_open"
    DONE = "done"


class Event(StrEnum):
    """What happened: an answer of a port or a choice of the patient."""

    IDENTITY_QUALIFIED = "identity_qualified"
    IDENTITY_NOT_QUALIFIED = "identity_not_qualified"
    KNOWN_LOCALLY = "known_locally"
    DMP_ABSENT = "dmp_absent"
    DMP_AUTHORIZED = "dmp_authorized"
    DMP_UNAUTHORIZED = "dmp_unauthorized"
    DMP_FORBIDDEN = "dmp_forbidden"
    DMP_CLOSED = "dmp_closed"
    DMP_OPPOSED = "dmp_opposed"
    REACTIVATED = "reactivated"
    REACTIVATED_AUTHORIZED = "reactivated_authorized"
    CLOSED_ON_REQUEST = "closed_on_request"
    INFORMATION_GIVEN = "information_given"
    CONSENT_GIVEN = "consent_given"
    CONSENT_REFUSED = "consent_refused"
    CREATION_DONE = "creation_done"
    CREATION_PENDING = "creation_pending"
    CREATION_FAILED = "creation_failed"
    AUTHORIZATION_GIVEN = "authorization_given"
    AUTHORIZATION_REFUSED = "authorization_refused"
    WEB_ACCOUNT_OPENED = "web_account_opened"
    FINISH = "finish"


S, E = Stage, Event
TRANSITIONS: dict[tuple[Stage, Event], Stage] = {
    (S.START, E.IDENTITY_QUALIFIED): S.QUALIFIED,
    (S.START, E.IDENTITY_NOT_QUALIFIED): S.UNQUALIFIED,
    (S.QUALIFIED, E.KNOWN_LOCALLY): S.AUTHORIZED,
    (S.QUALIFIED, E.DMP_AUTHORIZED): S.AUTHORIZED,
    (S.QUALIFIED, E.DMP_UNAUTHORIZED): S.NEEDS_AUTHORIZATION,
    (S.QUALIFIED, E.DMP_FORBIDDEN): S.FORBIDDEN,
    (S.QUALIFIED, E.DMP_ABSENT): S.NO_DMP,
    (S.QUALIFIED, E.DMP_CLOSED): S.CLOSED,
    (S.QUALIFIED, E.DMP_OPPOSED): S.OPPOSED,
    (S.CLOSED, E.REACTIVATED): S.NEEDS_AUTHORIZATION,
    (S.CLOSED, E.REACTIVATED_AUTHORIZED): S.AUTHORIZED,
    (S.AUTHORIZED, E.CLOSED_ON_REQUEST): S.CLOSED,
    (S.NO_DMP, E.INFORMATION_GIVEN): S.INFORMED,
    (S.INFORMED, E.CONSENT_GIVEN): S.CREATION_QUEUED,
    (S.INFORMED, E.CONSENT_REFUSED): S.CONSENT_REFUSED,
    (S.CREATION_QUEUED, E.CREATION_DONE): S.CREATED,
    (S.CREATION_QUEUED, E.CREATION_PENDING): S.DEFERRED,
    (S.CREATION_QUEUED, E.CREATION_FAILED): S.CREATION_FAILED,
    (S.NEEDS_AUTHORIZATION, E.AUTHORIZATION_GIVEN): S.AUTHORIZED,
    (S.NEEDS_AUTHORIZATION, E.AUTHORIZATION_REFUSED): S.DONE,
    (S.CREATED, E.WEB_ACCOUNT_OPENED): S.WEB_ACCOUNT_OPEN,
    (S.AUTHORIZED, E.WEB_ACCOUNT_OPENED): S.WEB_ACCOUNT_OPEN,
    (S.CREATED, E.FINISH): S.DONE,
    (S.AUTHORIZED, E.FINISH): S.DONE,
    (S.WEB_ACCOUNT_OPEN, E.FINISH): S.DONE,
    (S.DEFERRED, E.FINISH): S.DONE,
    (S.CREATION_FAILED, E.FINISH): S.DONE,
    (S.CONSENT_REFUSED, E.FINISH): S.DONE,
    (S.FORBIDDEN, E.FINISH): S.DONE,
    (S.CLOSED, E.FINISH): S.DONE,
    (S.OPPOSED, E.FINISH): S.DONE,
    (S.NO_DMP, E.FINISH): S.DONE,
    (S.INFORMED, E.FINISH): S.DONE,
}
"""The whole machine: (stage, event) → next stage; any other pair is refused."""

TERMINAL = frozenset({Stage.DONE, Stage.UNQUALIFIED})
"""Stages no event leaves: a new admission starts a new flow."""


class InvalidTransition(InvalidInput):
    """An action that the admission's current step does not allow."""

    code = "ENROLMENT_ORDER"


def advance(stage: Stage, event: Event) -> Stage:
    """The next stage, or :class:`InvalidTransition`."""
    following = TRANSITIONS.get((stage, event))
    if following is None:
        raise InvalidTransition(
            msg("services.enrolment.advance"),
            detail=f"{stage.value} + {event.value}",
        )
    return following
