"""Errors of the DMP messages: a request the kiosk refuses to build, a message it cannot read."""

from __future__ import annotations

from kiosk.errors import InvalidInput, ServiceError

__all__ = ["DmpMessageInvalid", "DmpRequestInvalid"]


class DmpRequestInvalid(InvalidInput):
    """A DMP request that must not leave the kiosk as given (a rule of DOMAIN.md §6 broken)."""

    code = "DMP_REQUEST_INVALID"


class DmpMessageInvalid(ServiceError):
    """A DMP message that is well-formed XML but not the expected structure."""

    code = "DMP_MESSAGE_INVALID"
