"""The fleet check-in's errors, in the one tree of :mod:`kiosk.errors`.

A fleet server that is down, slow or refusing never stops the kiosk: the check-in loop
catches every one of these, logs one line and backs off. They reach an operator only
through ``kiosk fleet poll-once``.
"""

from __future__ import annotations

from kiosk.errors import AccessDenied, ServiceError, Unavailable

__all__ = ["ArtifactRejected", "FleetProtocolError", "FleetUnauthorized", "FleetUnavailable"]


class FleetUnavailable(Unavailable):
    """The fleet server did not answer in time, or answered 5xx/429."""

    code = "FLEET_UNAVAILABLE"


class FleetUnauthorized(AccessDenied):
    """401/403: the token is wrong, or the server does not know this controller."""

    code = "FLEET_UNAUTHORIZED"


class FleetProtocolError(ServiceError):
    """An answer that is not what the DDI API documents (or a 4xx we did not expect)."""

    code = "FLEET_PROTOCOL"


class ArtifactRejected(ServiceError):
    """A downloaded artifact that is too large or whose SHA-256 differs: deleted, not used."""

    code = "FLEET_ARTIFACT"
