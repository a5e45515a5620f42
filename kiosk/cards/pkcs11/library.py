"""The loaded PKCS#11 modules, one per path, and how their errors reach users.

A PKCS#11 module is initialised once per process (``C_Initialize``) and python-pkcs11
hands back the same object for the same path, so :func:`library` shares one library
per path. The module is initialised without OS locking, so every call into it goes
through the one lock returned with it, from a worker thread (``asyncio.to_thread``).
Foreign ``pkcs11`` exceptions become :mod:`kiosk.errors` here (:data:`GONE` means the
card or token left).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import exceptions as p11

from kiosk.errors import CardError, CardRemoved
from kiosk.locale import msg

__all__ = ["GONE", "card_error", "library", "log_out", "removed"]


def removed(exc: BaseException) -> CardRemoved:
    """The card or token left while in use."""
    return CardRemoved(msg("cards.pkcs11.library.removed"), detail=type(exc).__name__)


def card_error(exc: BaseException) -> CardError:
    """Any other PKCS#11 failure, named in the detail only."""
    return CardError(
        msg("cards.pkcs11.library.card_error"),
        detail=type(exc).__name__,
    )


GONE = (
    p11.TokenNotPresent,
    p11.DeviceRemoved,
    p11.SessionClosed,
    p11.SessionHandleInvalid,
    p11.TokenNotRecognised,
    p11.UserNotLoggedIn,
    p11.KeyHandleInvalid,
    p11.ObjectHandleInvalid,
)

_LIBRARIES: dict[str, tuple[Any, threading.Lock]] = {}
_LIBRARIES_LOCK = threading.Lock()


def library(path: Path) -> tuple[Any, threading.Lock]:
    """The library at ``path`` and the lock every call into it takes; loaded once."""
    with _LIBRARIES_LOCK:
        entry = _LIBRARIES.get(str(path))
        if entry is None:
            try:
                lib = pkcs11.lib(str(path))
            except p11.PKCS11Error as exc:
                raise CardError(
                    msg("cards.pkcs11.library.library"),
                    detail=f"{path}: {exc}",
                ) from exc
            entry = (lib, threading.Lock())
            _LIBRARIES[str(path)] = entry
        return entry


def log_out(session: Any) -> None:
    """C_Logout then C_CloseSession; a card already pulled has nothing left to close."""
    if session is not None:
        with contextlib.suppress(p11.PKCS11Error):
            session.close()
