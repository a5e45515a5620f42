"""CPS/CPE cards and the establishment token over PKCS#11 (the only importer of ``pkcs11``).

The configured module is the ANS Cryptolib CPS in production and SoftHSM2 in
simulation (DOMAIN.md §5); nothing else differs. A card in a reader is found either
by its slot (Cryptolib CPS: one slot per reader, slot description = reader name) or,
in simulation, by its token label, which carries the card serial (``CPE 0123456789``,
see ``kiosk/sim/hsm.py``).

The PIN is held only for the C_Login call and never logged. What a wrong PIN does
is what the token says: PKCS#11 gives only the flags ``CKF_USER_PIN_COUNT_LOW``,
``CKF_USER_PIN_FINAL_TRY``, ``CKF_USER_PIN_LOCKED`` and the codes ``CKR_PIN_INCORRECT``
/ ``CKR_PIN_LOCKED``, read as ``kiosk/cards/pin.py`` says. A locked token is never
tried again. Who the token speaks for comes from ``kiosk/cards/professional.py``.
SoftHSM2 never locks: the simulator adds the lock with
:class:`kiosk.cards.pinlock.SimulatedPinLock`.

Signatures use the **signature** key (CKA_ID ending ``0x10``) with
``CKM_SHA256_RSA_PKCS``; the authentication key (``0x20``) is for TLS only, and the
DMP rejects a VIHF signed with it (DOMAIN.md §5).

A PKCS#11 module is initialised once per process (``C_Initialize``) and python-pkcs11
hands back the same object for the same path, so :class:`CpsModule` shares one
library per path. The module is initialised without OS locking, so every call into
it goes through one lock, from a worker thread (``asyncio.to_thread``).

The same module path also serves a device token's AES-256 secret key
(:class:`TokenSecretKey`, the outbox's production device key, ARCHITECTURE.md §6):
``CKM_AES_GCM`` with ``CK_GCM_PARAMS`` (12-byte IV, AAD, 128-bit tag) as the locked
python-pkcs11 0.10 passes them (:class:`pkcs11.mechanisms.GCMParams`, ``ulIvBits``
set). The tag travels after the ciphertext, as ``cryptography``'s AESGCM writes it,
so both sides read each other's output. SoftHSM2 2.6 answers a wrong tag with
``CKR_GENERAL_ERROR`` (the specific ``CKR_ENCRYPTED_DATA_INVALID`` came in a later
release): a failed decryption is called :class:`SealedDataRejected` only after the
key still opens its own check vector, so a failing token is never mistaken for
altered data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.mechanisms import GCMParams

from kiosk.cards.pin import (
    MAX_PIN_TRIES,
    PIN_FLAGS,
    PinState,
    PinStatus,
    pin_error,
    pin_status,
)
from kiosk.cards.pinlock import SimulatedPinLock
from kiosk.cards.professional import ProfessionalIdentity, professional_from
from kiosk.errors import CardError, CardRemoved, InvalidInput, PinIncorrect
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
    "SealedDataRejected",
    "SecretKeyNotFound",
    "TokenInfo",
    "TokenNotFound",
    "TokenSecretKey",
]

log = logging.getLogger(__name__)

SIGNATURE_ID_SUFFIX = 0x10
AUTHENTICATION_ID_SUFFIX = 0x20
TOKEN_INITIALIZED = 0x0000_0400
"""``CKF_TOKEN_INITIALIZED``: SoftHSM2 always lists one empty token, skipped."""


class TokenNotFound(CardError):
    """No PKCS#11 token belongs to this reader or card serial."""

    code = "CPS_TOKEN_NOT_FOUND"


class SecretKeyNotFound(CardError):
    """The token holds no usable AES-256 secret key under that label."""

    code = "PKCS11_KEY_NOT_FOUND"


class SealedDataRejected(CardError):
    """AES-GCM refused the data: altered, truncated, or bound to other associated data."""

    code = "PKCS11_GCM_REJECTED"


@dataclass(frozen=True)
class TokenInfo:
    """A token as the module lists it: its slot (reader), label, serial and PIN state."""

    slot_description: str
    label: str
    serial: str
    pin: PinStatus


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


def _log_out(session: Any) -> None:
    """C_Logout then C_CloseSession; a card already pulled has nothing left to close."""
    if session is not None:
        with contextlib.suppress(p11.PKCS11Error):
            session.close()


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
            _log_out(session)

    async def aclose(self) -> None:
        """:meth:`close` from a worker thread."""
        await asyncio.to_thread(self.close)


GCM_NONCE_BYTES = 12
GCM_TAG_BYTES = 16
# The check vector reuses one nonce, but only ever for the same block and AAD (the same
# output each time); a random seal nonce meets it with probability 2^-96.
_CHECK_NONCE = b"kiosk-check\x00"
_CHECK_PLAINTEXT = bytes(16)
_CHECK_AAD = b"kiosk device key check vector"
_DATA_REFUSED = (p11.EncryptedDataInvalid, p11.EncryptedDataLenRange)
"""What a token that follows the standard answers for a wrong GCM tag."""


def _rejected(detail: str) -> SealedDataRejected:
    return SealedDataRejected(
        "Données chiffrées refusées par le jeton (altérées ou déplacées).",
        "The token refused the sealed data (altered or moved).",
        detail=detail,
    )


def _gcm(key: Any, nonce: bytes, data: bytes, aad: bytes, *, encrypt: bool) -> bytes:
    if len(nonce) != GCM_NONCE_BYTES:
        raise ValueError(f"AES-GCM nonce must be {GCM_NONCE_BYTES} bytes, got {len(nonce)}")
    params = GCMParams(nonce, aad, GCM_TAG_BYTES * 8)
    if encrypt:
        return bytes(key.encrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=params))
    return bytes(key.decrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=params))


class TokenSecretKey:
    """An AES-256 key that never leaves its token: AES-GCM on the token, thread-safe.

    Calls come from aiosqlite's connection thread (sealing inside an enqueue) and from
    the event loop's thread (opening a leased row); the library's lock orders them.
    """

    def __init__(
        self,
        session: Any,
        key: Any,
        token_label: str,
        key_label: str,
        lock: threading.Lock,
        check_value: bytes,
    ) -> None:
        self._session: Any = session
        self._key: Any = key
        self.token_label = token_label
        self.key_label = key_label
        self._lock = lock
        self._check_value = check_value

    @property
    def check_value(self) -> bytes:
        """This key's AES-GCM encryption of a fixed vector: tells keys apart, reveals nothing."""
        return self._check_value

    @property
    def open(self) -> bool:
        """False once closed."""
        return self._session is not None

    def _live(self) -> Any:
        if self._key is None:
            raise CardRemoved(
                "La clé de l'appareil est fermée.",
                "The device key is closed.",
                detail=f"token {self.token_label!r}",
            )
        return self._key

    def encrypt_gcm(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext followed by its 16-byte tag, bound to ``aad``; one blocking token call."""
        with self._lock:
            key = self._live()
            try:
                return _gcm(key, nonce, plaintext, aad, encrypt=True)
            except _GONE as exc:
                raise _removed(exc) from exc
            except p11.PKCS11Error as exc:
                raise _card_error(exc) from exc

    def decrypt_gcm(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        """The plaintext of ciphertext + tag; :class:`SealedDataRejected` if it does not verify."""
        if len(data) < GCM_TAG_BYTES:
            raise _rejected("shorter than the tag")
        with self._lock:
            key = self._live()
            try:
                return _gcm(key, nonce, data, aad, encrypt=False)
            except _DATA_REFUSED as exc:
                raise _rejected(type(exc).__name__) from exc
            except _GONE as exc:
                raise _removed(exc) from exc
            except (p11.GeneralError, p11.FunctionFailed) as exc:
                # SoftHSM2 2.6: CKR_GENERAL_ERROR for a wrong tag. The data is to blame
                # only if the key still opens its check vector right now.
                if not self._opens_check(key):
                    raise _card_error(exc) from exc
                raise _rejected(type(exc).__name__) from exc
            except p11.PKCS11Error as exc:
                raise _card_error(exc) from exc

    def _opens_check(self, key: Any) -> bool:
        try:
            opened = _gcm(key, _CHECK_NONCE, self._check_value, _CHECK_AAD, encrypt=False)
        except p11.PKCS11Error:
            return False
        return opened == _CHECK_PLAINTEXT

    def close(self) -> None:
        """Log out and forget the key; harmless when the token is already gone."""
        with self._lock:
            session, self._session, self._key = self._session, None, None
            _log_out(session)

    async def aclose(self) -> None:
        """:meth:`close` from a worker thread."""
        await asyncio.to_thread(self.close)


def _aes_key(session: Any, token_label: str, key_label: str) -> Any:
    """The sensitive, non-extractable AES-256 key ``key_label`` of a logged-in session."""
    try:
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=key_label)
        kind, size = key[Attribute.KEY_TYPE], key[Attribute.VALUE_LEN]
        sensitive, extractable = key[Attribute.SENSITIVE], key[Attribute.EXTRACTABLE]
    except p11.NoSuchKey as exc:
        raise SecretKeyNotFound(
            f"Le jeton « {token_label} » ne contient pas la clé « {key_label} ».",
            f"Token {token_label!r} holds no key {key_label!r}.",
        ) from exc
    except p11.MultipleObjectsReturned as exc:
        raise SecretKeyNotFound(
            f"Le jeton « {token_label} » contient plusieurs clés « {key_label} ».",
            f"Token {token_label!r} holds several keys {key_label!r}.",
        ) from exc
    except _GONE as exc:
        raise _removed(exc) from exc
    except p11.PKCS11Error as exc:
        raise _card_error(exc) from exc
    if kind != KeyType.AES or size != 32:
        raise SecretKeyNotFound(
            f"La clé « {key_label} » du jeton « {token_label} » n'est pas une clé AES-256.",
            f"Key {key_label!r} of token {token_label!r} is not an AES-256 key.",
            detail=f"key type {int(kind)}, {size} bytes",
        )
    if extractable or not sensitive:
        # A device key that can be read out of its token protects nothing (issue 8).
        raise CardError(
            f"La clé « {key_label} » peut sortir du jeton « {token_label} » : refusée.",
            f"Key {key_label!r} can leave token {token_label!r}: refused.",
            detail=f"sensitive={sensitive} extractable={extractable}",
        )
    return key


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
        self._keys: list[TokenSecretKey] = []

    async def close_all(self) -> None:
        """Log out of every session this adapter opened (shutdown, reader gone)."""
        sessions, self._sessions = self._sessions, []
        keys, self._keys = self._keys, []
        for session in sessions:
            await session.aclose()
        for key in keys:
            await key.aclose()

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

    async def open_secret_key(
        self, pin: str, *, token_label: str, key_label: str
    ) -> TokenSecretKey:
        """Log in to the token ``token_label`` and hold its AES-256 key ``key_label``."""
        return await asyncio.to_thread(self._open_secret_key, pin, token_label, key_label)

    def _open_secret_key(self, pin: str, token_label: str, key_label: str) -> TokenSecretKey:
        lib, lock = _library(self.module_path)
        with lock:
            try:
                token = self._find(lib, None, None, token_label)
            except TokenNotFound as exc:
                raise TokenNotFound(
                    f"Jeton de l'appareil « {token_label} » introuvable "
                    f"(module {self.module_path}).",
                    f"Device token {token_label!r} not found (module {self.module_path}).",
                    detail=exc.detail,
                ) from exc
            status = pin_status(self._flags(token), self.max_tries)
            if status.state is PinState.LOCKED:
                raise pin_error(status)
            try:
                session = self._c_login(token, pin)
            except PinIncorrect as exc:
                raise PinIncorrect(
                    f"Code du jeton de l'appareil « {token_label} » refusé.",
                    f"The PIN of device token {token_label!r} was refused.",
                    tries_left=exc.tries_left,
                ) from exc
            try:
                key = _aes_key(session, token_label, key_label)
                try:
                    check = _gcm(key, _CHECK_NONCE, _CHECK_PLAINTEXT, _CHECK_AAD, encrypt=True)
                except _GONE as exc:
                    raise _removed(exc) from exc
                except p11.PKCS11Error as exc:
                    raise CardError(
                        f"La clé « {key_label} » ne chiffre pas en AES-GCM sur ce jeton.",
                        f"Key {key_label!r} cannot encrypt with AES-GCM on this token.",
                        detail=type(exc).__name__,
                    ) from exc
            except BaseException:
                with contextlib.suppress(p11.PKCS11Error):
                    session.close()
                raise
        opened = TokenSecretKey(session, key, token_label, key_label, lock, check)
        self._keys = [k for k in self._keys if k.open]
        self._keys.append(opened)
        log.info("device key %r of token %r opened", key_label, token_label)
        return opened

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
        professional = professional_from(sign_cert, data)
        identity = SignerIdentity(professional.national_id, professional.display_name)
        signer = Pkcs11Signer(key, sign_cert, identity, lock)
        return CpsSession(session, label, professional, auth[0] if auth else None, signer, lock)
