"""The one error tree of kiosk.

Every error a user can meet is a :class:`KioskError`: it carries a short message in
French and in English, a stable machine ``code`` for logs and metrics, and a
``detail`` for the log only (never a PIN, a full NIR or a password). Adapters
translate foreign exceptions at their boundary with ``raise ... from exc``, so
nothing from pyscard, pkcs11, httpx or lxml reaches a screen.

Messages come from the catalogue (:mod:`kiosk.locale`): raise with
``Unavailable(msg("insi.unavailable", url=url), detail=...)``. The tree imports
nothing of ours but that leaf, so the pure domain may raise it.

The CLI maps families to exit codes (ARCHITECTURE.md §12): invalid input 1,
not found 2, device or service unavailable 3.
"""

from __future__ import annotations

from typing import ClassVar

from kiosk.locale import Message, msg

__all__ = [
    "AccessDenied",
    "CardError",
    "CardReadError",
    "CardRemoved",
    "ConfigError",
    "IdentityError",
    "InvalidInput",
    "KioskError",
    "Message",
    "NotFound",
    "PinIncorrect",
    "PinLocked",
    "PrinterError",
    "ServiceError",
    "SoapFault",
    "StorageError",
    "Unavailable",
    "UpdateError",
    "msg",
]


class KioskError(Exception):
    """Base of every error a user may see; message in French first, English available."""

    code: ClassVar[str] = "KIOSK"
    retryable: ClassVar[bool] = False
    exit_code: ClassVar[int] = 1

    def __init__(
        self, message: Message | str, message_en: str | None = None, *, detail: str = ""
    ) -> None:
        if isinstance(message, Message):
            self.key: str | None = message.key
            self.message_fr = message.text("fr")
            self.message_en = message.text("en")
        else:  # an already rendered pair, e.g. re-raising another error's words
            self.key = None
            self.message_fr = message
            self.message_en = message if message_en is None else message_en
        super().__init__(self.message_en)
        self.detail = detail

    def message(self, lang: str = "fr") -> str:
        """The user-facing message in ``lang`` (``fr`` or ``en``)."""
        return self.message_en if lang == "en" else self.message_fr

    def __str__(self) -> str:
        return self.message_en

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class InvalidInput(KioskError):
    """Input that cannot be accepted as given (a NIR, a payload, an option)."""

    code = "INVALID_INPUT"
    exit_code = 1


class IdentityError(InvalidInput):
    """An identity that is inconsistent, unqualified, or of the wrong environment."""

    code = "IDENTITY"


class ConfigError(InvalidInput):
    """A configuration file that does not validate; names file, key and expected value."""

    code = "CONFIG"


class NotFound(KioskError):
    """Nothing where something was looked for (no barcode, no card, no identity)."""

    code = "NOT_FOUND"
    exit_code = 2


class Unavailable(KioskError):
    """A device or service that does not answer; worth retrying later."""

    code = "UNAVAILABLE"
    retryable = True
    exit_code = 3


class CardError(KioskError):
    """Anything about a smart card."""

    code = "CARD"
    exit_code = 3


class CardRemoved(CardError):
    """The card left the reader during an operation."""

    code = "CARD_REMOVED"


class CardReadError(CardError):
    """The card answered, but not as the documented layout says."""

    code = "CARD_READ"


class PinIncorrect(CardError):
    """Wrong PIN; ``tries_left`` is what the token reports (None when unknown)."""

    code = "PIN_INCORRECT"
    exit_code = 1

    def __init__(
        self,
        message: Message | str,
        message_en: str | None = None,
        *,
        tries_left: int | None,
        detail: str = "",
    ) -> None:
        super().__init__(message, message_en, detail=detail)
        self.tries_left = tries_left


class PinLocked(CardError):
    """The card refuses every PIN; it must be unblocked by its issuer."""

    code = "PIN_LOCKED"


class ServiceError(KioskError):
    """A remote service (INSi, DMP) refused or failed."""

    code = "SERVICE"
    exit_code = 3


class SoapFault(ServiceError):
    """A SOAP fault returned by the service; ``fault_code`` is the service's own code."""

    code = "SOAP_FAULT"

    def __init__(
        self,
        message: Message | str,
        message_en: str | None = None,
        *,
        fault_code: str,
        permanent: bool = True,
        detail: str = "",
    ) -> None:
        super().__init__(message, message_en, detail=detail)
        self.fault_code = fault_code
        self.permanent = permanent


class AccessDenied(ServiceError):
    """The service says this person or establishment may not do this."""

    code = "ACCESS_DENIED"


class StorageError(KioskError):
    """Local storage failed (disk full, corrupt database)."""

    code = "STORAGE"
    exit_code = 3


class PrinterError(KioskError):
    """The printer is unreachable, out of paper, or its cover is open."""

    code = "PRINTER"
    retryable = True
    exit_code = 3


class UpdateError(KioskError):
    """An update could not be checked, installed or judged (RAUC, the bundle, the reboot)."""

    code = "UPDATE"
    exit_code = 3
