"""CPS/CPE cards and the establishment token over PKCS#11 (the only importer of ``pkcs11``).

The configured module is the ANS Cryptolib CPS in production and SoftHSM2 in
simulation (DOMAIN.md §5); nothing else differs. A card in a reader is found either
by its slot (Cryptolib CPS: one slot per reader, slot description = reader name) or,
in simulation, by its token label, which carries the card serial (``CPE 0123456789``,
see ``kiosk/sim/hsm.py``).

The PIN is held only for the C_Login call and never logged. What a wrong PIN does
is what the token says: PKCS#11 gives only the flags ``CKF_USER_PIN_COUNT_LOW``,
``CKF_USER_PIN_FINAL_TRY``, ``CKF_USER_PIN_LOCKED`` and the codes ``CKR_PIN_INCORRECT``
/ ``CKR_PIN_LOCKED``; a CPS allows 3 tries, so "count low" alone means 2 left and
"final try" means 1. A locked token is never tried again. SoftHSM2 never locks: the
simulator adds the lock with :class:`kiosk.cards.pinlock.SimulatedPinLock`.

Signatures use the **signature** key (CKA_ID ending ``0x10``) with
``CKM_SHA256_RSA_PKCS``; the authentication key (``0x20``) is for TLS only, and the
DMP rejects a VIHF signed with it (DOMAIN.md §5).

A PKCS#11 module is initialised once per process (``C_Initialize``) and python-pkcs11
hands back the same object for the same path, so :class:`CpsModule` shares one
library per path. The module is initialised without OS locking, so every call into
it goes through one lock, from a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11

from kiosk.cards.pinlock import (
    CKF_USER_PIN_COUNT_LOW,
    CKF_USER_PIN_FINAL_TRY,
    CKF_USER_PIN_LOCKED,
    PIN_FLAGS,
    SimulatedPinLock,
)
from kiosk.errors import CardError, CardRemoved, InvalidInput, PinIncorrect, PinLocked
from kiosk.signing import SignerIdentity

__all__ = [
    "AUTHENTICATION_ID_SUFFIX",
    "SIGNATURE_ID_SUFFIX",
    "CpsModule",
    "CpsSession",
    "PinState",
    "PinStatus",
    "Pkcs11Signer",
    "ProfessionalIdentity",
    "TokenInfo",
    "TokenNotFound",
    "parse_data_object",
    "pin_error",
    "pin_status",
]

log = logging.getLogger(__name__)

SIGNATURE_ID_SUFFIX = 0x10
AUTHENTICATION_ID_SUFFIX = 0x20
MAX_PIN_TRIES = 3
TOKEN_INITIALIZED = 0x0000_0400
"""``CKF_TOKEN_INITIALIZED``: SoftHSM2 always lists one empty token, skipped."""
_INFO = "CPS_INFO_PS"
_ACTIVITY_PREFIX = "CPS_ACTIVITY_"


class TokenNotFound(CardError):
    """No PKCS#11 token belongs to this reader or card serial."""

    code = "CPS_TOKEN_NOT_FOUND"


@dataclass(frozen=True)
class TokenInfo:
    """A token as the module lists it: its slot (reader), label, serial and PIN state."""

    slot_description: str
    label: str
    serial: str
    pin: PinStatus


class PinState(StrEnum):
    """What the token flags say about the user PIN."""

    OK = "ok"
    COUNT_LOW = "count_low"
    FINAL_TRY = "final_try"
    LOCKED = "locked"


@dataclass(frozen=True)
class PinStatus:
    """The PIN state and the tries left (None when the token cannot tell)."""

    state: PinState
    tries_left: int | None


def pin_status(flags: int, max_tries: int = MAX_PIN_TRIES) -> PinStatus:
    """Interpret ``CK_TOKEN_INFO.flags``; a locked PIN wins over every other flag."""
    if flags & CKF_USER_PIN_LOCKED:
        return PinStatus(PinState.LOCKED, 0)
    if flags & CKF_USER_PIN_FINAL_TRY:
        return PinStatus(PinState.FINAL_TRY, 1)
    if flags & CKF_USER_PIN_COUNT_LOW:
        # "At least one wrong PIN": exact only when 3 tries leave a single middle state.
        return PinStatus(PinState.COUNT_LOW, 2 if max_tries == 3 else None)
    return PinStatus(PinState.OK, max_tries)


def pin_error(status: PinStatus) -> PinIncorrect | PinLocked:
    """The error a user sees after a wrong PIN, given the flags read afterwards."""
    if status.state is PinState.LOCKED:
        return PinLocked(
            "Carte bloquée : trop de codes faux. Faites-la débloquer par son émetteur.",
            "Card locked: too many wrong PINs. Have it unblocked by its issuer.",
        )
    if status.state is PinState.FINAL_TRY:
        return PinIncorrect(
            "Code faux. Dernier essai : un nouveau code faux bloquera la carte.",
            "Wrong PIN. Last try: one more wrong PIN will lock the card.",
            tries_left=1,
        )
    if status.tries_left is None:
        return PinIncorrect("Code faux.", "Wrong PIN.", tries_left=None)
    return PinIncorrect(
        f"Code faux. Il reste {status.tries_left} essais.",
        f"Wrong PIN. {status.tries_left} tries left.",
        tries_left=status.tries_left,
    )


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


def _removed(exc: BaseException) -> CardRemoved:
    return CardRemoved(
        "La carte a été retirée.", "The card was removed.", detail=type(exc).__name__
    )


def _card_error(exc: BaseException) -> CardError:
    return CardError(
        "La carte ne répond pas comme attendu.",
        "The card did not answer as expected.",
        detail=type(exc).__name__,
    )


_GONE = (
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


def _library(path: Path) -> tuple[Any, threading.Lock]:
    with _LIBRARIES_LOCK:
        entry = _LIBRARIES.get(str(path))
        if entry is None:
            try:
                lib = pkcs11.lib(str(path))
            except p11.PKCS11Error as exc:
                raise CardError(
                    "Le module des cartes professionnelles est introuvable.",
                    "The professional-card module cannot be loaded.",
                    detail=f"{path}: {exc}",
                ) from exc
            entry = (lib, threading.Lock())
            _LIBRARIES[str(path)] = entry
        return entry


class Pkcs11Signer:
    """A :class:`kiosk.signing.Signer` over the token's signature key (CKA_ID …10)."""

    def __init__(
        self,
        key: Any,
        certificate: x509.Certificate,
        identity: SignerIdentity,
        lock: threading.Lock,
    ) -> None:
        self._key: Any = key
        self._certificate = certificate
        self._identity = identity
        self._lock = lock

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def identity(self) -> SignerIdentity:
        return self._identity

    def sign(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 SHA-256 on the token; blocking (a real card: 100–500 ms)."""
        with self._lock:
            key = self._key
            if key is None:
                raise CardRemoved("La carte a été retirée.", "The card was removed.")
            try:
                return bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            except _GONE as exc:
                raise _removed(exc) from exc
            except p11.PKCS11Error as exc:
                raise _card_error(exc) from exc

    async def sign_async(self, data: bytes) -> bytes:
        """:meth:`sign` from a worker thread, for async callers."""
        return await asyncio.to_thread(self.sign, data)

    def _forget(self) -> None:
        self._key = None


class CpsSession:
    """A logged-in token: the professional, the certificates, and the signer."""

    def __init__(
        self,
        session: Any,
        token_label: str,
        professional: ProfessionalIdentity,
        authentication_certificate: x509.Certificate | None,
        signer: Pkcs11Signer,
        lock: threading.Lock,
    ) -> None:
        self._session: Any = session
        self.token_label = token_label
        self.professional = professional
        self.authentication_certificate = authentication_certificate
        self.signer = signer
        self._lock = lock

    @property
    def open(self) -> bool:
        """False once logged out or after the card was pulled."""
        return self._session is not None

    def close(self) -> None:
        """Log out and forget the session and key; harmless when the card is already gone."""
        with self._lock:
            session, self._session = self._session, None
            self.signer._forget()
            if session is None:
                return
            with contextlib.suppress(p11.PKCS11Error):
                session.close()  # C_Logout then C_CloseSession

    async def aclose(self) -> None:
        """:meth:`close` from a worker thread."""
        await asyncio.to_thread(self.close)


class CpsModule:
    """The configured PKCS#11 module: find a card's token, read its PIN state, log in."""

    def __init__(
        self,
        module_path: Path,
        *,
        pin_lock: SimulatedPinLock | None = None,
        max_tries: int = MAX_PIN_TRIES,
    ) -> None:
        self.module_path = module_path
        self.pin_lock = pin_lock
        self.max_tries = max_tries
        self._sessions: list[CpsSession] = []

    async def close_all(self) -> None:
        """Log out of every session this adapter opened (shutdown, reader gone)."""
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            await session.aclose()

    async def pin_status(
        self, *, reader: str | None = None, card_serial: str | None = None, label: str | None = None
    ) -> PinStatus:
        """What the token flags say before a PIN is typed (e.g. to warn of the last try)."""
        return await asyncio.to_thread(self._pin_status, reader, card_serial, label)

    async def tokens(self) -> list[TokenInfo]:
        """Every token present, with its slot and PIN state (for ``kiosk cards login``)."""
        return await asyncio.to_thread(self._tokens)

    async def login(
        self,
        pin: str,
        *,
        reader: str | None = None,
        card_serial: str | None = None,
        label: str | None = None,
    ) -> CpsSession:
        """Log in to the card in ``reader`` / with ``card_serial`` (or the token ``label``)."""
        return await asyncio.to_thread(self._login, pin, reader, card_serial, label)

    def _tokens(self) -> list[TokenInfo]:
        lib, lock = _library(self.module_path)
        with lock:
            try:
                found = [(slot, slot.get_token()) for slot in lib.get_slots(token_present=True)]
            except p11.PKCS11Error as exc:
                raise _card_error(exc) from exc
            return [
                TokenInfo(
                    slot.slot_description.strip(),
                    token.label.strip(),
                    token.serial.decode("ascii", errors="replace").strip(),
                    pin_status(self._flags(token), self.max_tries),
                )
                for slot, token in found
                if token.flags & TOKEN_INITIALIZED
            ]

    def _pin_status(self, reader: str | None, serial: str | None, label: str | None) -> PinStatus:
        lib, lock = _library(self.module_path)
        with lock:
            token = self._find(lib, reader, serial, label)
            return pin_status(self._flags(token), self.max_tries)

    def _login(
        self, pin: str, reader: str | None, serial: str | None, label: str | None
    ) -> CpsSession:
        lib, lock = _library(self.module_path)
        with lock:
            token = self._find(lib, reader, serial, label)
            status = pin_status(self._flags(token), self.max_tries)
            if status.state is PinState.LOCKED:
                raise pin_error(status)  # never spend a C_Login on a locked card
            session = self._c_login(token, pin)
            try:
                opened = self._open_session(session, token.label, lock)
            except BaseException:
                with contextlib.suppress(p11.PKCS11Error):
                    session.close()
                raise
        self._sessions = [s for s in self._sessions if s.open]
        self._sessions.append(opened)
        return opened

    def _c_login(self, token: Any, pin: str) -> Any:
        label: str = token.label
        try:
            if self.pin_lock is not None and self.pin_lock.is_locked(label):
                # The simulated card answers as a blocked card does: CKR_PIN_LOCKED.
                self.pin_lock.record_attempt(label, accepted=False)
                raise p11.PinLocked()
            session = token.open(user_pin=pin)
        except p11.PinIncorrect as exc:
            if self.pin_lock is not None:
                self.pin_lock.record_attempt(label, accepted=False)
            log.info("wrong PIN for token %r", label)
            status = pin_status(self._flags(token), self.max_tries)
            if status.state is PinState.OK:
                # A wrong PIN, yet no flag moved: this token shows no count at all.
                status = PinStatus(PinState.COUNT_LOW, None)
            raise pin_error(status) from exc
        except p11.PinLocked as exc:
            raise pin_error(PinStatus(PinState.LOCKED, 0)) from exc
        except (p11.PinLenRange, p11.PinInvalid) as exc:
            raise InvalidInput(
                "Ce code n'a pas le format attendu (4 chiffres pour une carte CPS/CPE).",
                "This PIN has the wrong format (4 digits for a CPS/CPE card).",
            ) from exc
        except p11.UserAlreadyLoggedIn as exc:
            raise CardError(
                "Cette carte est déjà ouverte dans une autre session.",
                "This card is already open in another session.",
            ) from exc
        except _GONE as exc:
            raise _removed(exc) from exc
        except p11.PKCS11Error as exc:
            raise _card_error(exc) from exc
        if self.pin_lock is not None:
            self.pin_lock.record_attempt(label, accepted=True)
        log.info("logged in to token %r", label)
        return session

    def _flags(self, token: Any) -> int:
        """The token flags, read afresh; the simulated lock supplies the PIN flags."""
        try:
            flags = int(token.slot.get_token().flags)
        except _GONE as exc:
            raise _removed(exc) from exc
        except p11.PKCS11Error as exc:
            raise _card_error(exc) from exc
        if self.pin_lock is not None:
            flags = (flags & ~PIN_FLAGS) | self.pin_lock.flags(token.label)
        return flags

    def _find(self, lib: Any, reader: str | None, serial: str | None, label: str | None) -> Any:
        try:
            slots = lib.get_slots(token_present=True)
            candidates = [(slot, slot.get_token()) for slot in slots]
        except p11.PKCS11Error as exc:
            raise _card_error(exc) from exc
        for slot, token in candidates:
            # Cryptolib CPS: one slot per reader, named after it (64 chars, space padded).
            if reader and slot.slot_description.strip() == reader[:64].strip():
                return token
        for _slot, token in candidates:
            words = token.label.split()
            if label is not None and token.label.strip() == label.strip():
                return token
            if serial and (words[-1:] == [serial] or token.serial.strip() == serial.encode()):
                return token
        wanted = label or (f"carte {serial}" if serial else f"lecteur {reader}")
        raise TokenNotFound(
            f"Aucune carte professionnelle trouvée ({wanted}). Réinsérez la carte.",
            f"No professional card found ({label or serial or reader}). Re-insert the card.",
            detail=f"reader={reader!r} serial={serial!r} label={label!r}",
        )

    def _open_session(self, session: Any, label: str, lock: threading.Lock) -> CpsSession:
        try:
            certs = {
                bytes(obj[Attribute.ID]): x509.load_der_x509_certificate(obj[Attribute.VALUE])
                for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
            }
            data = {
                str(obj[Attribute.LABEL]): bytes(obj[Attribute.VALUE])
                for obj in session.get_objects({Attribute.CLASS: ObjectClass.DATA})
            }
            sign_ids = sorted(i for i in certs if i and i[-1] == SIGNATURE_ID_SUFFIX)
            if not sign_ids:
                raise CardError(
                    "La carte ne contient pas de certificat de signature.",
                    "The card holds no signature certificate.",
                    detail=f"token {label!r}: no CKA_ID ending 0x10",
                )
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=sign_ids[0])
        except _GONE as exc:
            raise _removed(exc) from exc
        except p11.PKCS11Error as exc:
            raise _card_error(exc) from exc
        sign_cert = certs[sign_ids[0]]
        auth = [c for i, c in sorted(certs.items()) if i and i[-1] == AUTHENTICATION_ID_SUFFIX]
        professional = _professional(sign_cert, data)
        identity = SignerIdentity(professional.national_id, professional.display_name)
        signer = Pkcs11Signer(key, sign_cert, identity, lock)
        return CpsSession(session, label, professional, auth[0] if auth else None, signer, lock)


def _professional(cert: x509.Certificate, data: dict[str, bytes]) -> ProfessionalIdentity:
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
