"""A device token's AES-256 secret key: AES-GCM on the token (the outbox's device key).

The same module path as the CPS/CPE cards serves a device token's AES-256 secret key
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
import threading
from typing import Any

from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.mechanisms import GCMParams

from kiosk.cards.pkcs11.library import GONE, card_error, log_out, removed
from kiosk.errors import CardError, CardRemoved
from kiosk.locale import msg

__all__ = [
    "GCM_NONCE_BYTES",
    "GCM_TAG_BYTES",
    "SealedDataRejected",
    "SecretKeyNotFound",
    "TokenSecretKey",
    "open_secret_key",
]


class SecretKeyNotFound(CardError):
    """The token holds no usable AES-256 secret key under that label."""

    code = "PKCS11_KEY_NOT_FOUND"


class SealedDataRejected(CardError):
    """AES-GCM refused the data: altered, truncated, or bound to other associated data."""

    code = "PKCS11_GCM_REJECTED"


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
        msg("cards.pkcs11.device_key.rejected"),
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
                msg("cards.pkcs11.device_key.token_secret_key_live"),
                detail=f"token {self.token_label!r}",
            )
        return self._key

    def encrypt_gcm(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext followed by its 16-byte tag, bound to ``aad``; one blocking token call."""
        with self._lock:
            key = self._live()
            try:
                return _gcm(key, nonce, plaintext, aad, encrypt=True)
            except GONE as exc:
                raise removed(exc) from exc
            except p11.PKCS11Error as exc:
                raise card_error(exc) from exc

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
            except GONE as exc:
                raise removed(exc) from exc
            except (p11.GeneralError, p11.FunctionFailed) as exc:
                # SoftHSM2 2.6: CKR_GENERAL_ERROR for a wrong tag. The data is to blame
                # only if the key still opens its check vector right now.
                if not self._opens_check(key):
                    raise card_error(exc) from exc
                raise _rejected(type(exc).__name__) from exc
            except p11.PKCS11Error as exc:
                raise card_error(exc) from exc

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
            log_out(session)

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
            msg("cards.pkcs11.device_key.aes_key_3", token_label=token_label, key_label=key_label),
        ) from exc
    except p11.MultipleObjectsReturned as exc:
        raise SecretKeyNotFound(
            msg("cards.pkcs11.device_key.aes_key_4", token_label=token_label, key_label=key_label),
        ) from exc
    except GONE as exc:
        raise removed(exc) from exc
    except p11.PKCS11Error as exc:
        raise card_error(exc) from exc
    if kind != KeyType.AES or size != 32:
        raise SecretKeyNotFound(
            msg("cards.pkcs11.device_key.aes_key", key_label=key_label, token_label=token_label),
            detail=f"key type {int(kind)}, {size} bytes",
        )
    if extractable or not sensitive:
        # A device key that can be read out of its token protects nothing (issue 8).
        raise CardError(
            msg("cards.pkcs11.device_key.aes_key_2", key_label=key_label, token_label=token_label),
            detail=f"sensitive={sensitive} extractable={extractable}",
        )
    return key


def open_secret_key(
    session: Any, token_label: str, key_label: str, lock: threading.Lock
) -> TokenSecretKey:
    """Hold the AES-256 key ``key_label`` of a logged-in session, proven to do AES-GCM."""
    key = _aes_key(session, token_label, key_label)
    try:
        check = _gcm(key, _CHECK_NONCE, _CHECK_PLAINTEXT, _CHECK_AAD, encrypt=True)
    except GONE as exc:
        raise removed(exc) from exc
    except p11.PKCS11Error as exc:
        raise CardError(
            msg("cards.pkcs11.device_key.open_secret_key", key_label=key_label),
            detail=type(exc).__name__,
        ) from exc
    return TokenSecretKey(session, key, token_label, key_label, lock, check)
