"""The device key that seals outbox payloads with AES-GCM.

Simulation and development: :class:`FileDeviceKey`, 32 random bytes in a file
created with mode 0600 (and refused if anyone else may read it). Production:
:class:`TokenDeviceKey`, a sensitive, non-extractable AES-256 key in a PKCS#11 token
(``CKM_AES_GCM`` through ``kiosk/cards/pkcs11/``, the only module allowed to import
``pkcs11``); a TPM-sealed key would be a third adapter of the same
:class:`~kiosk.outbox.ports.DeviceKey` shape. The sealed format (12-byte nonce,
ciphertext, 16-byte tag) is what AES-GCM gives on either side, so rows stay readable
when the adapter changes as long as the key material does.

The token key's ``key_id`` is a hash of its AES-GCM encryption of a fixed vector
(``TokenSecretKey.check_value``), not of its label, CKA_ID or token serial: it names
the key material, so a key regenerated under the same label gets a new id and two
tokens holding the same imported key share one, and computing it proves at start-up
that the key works for GCM. Only a hash of that output is shown; the key never
leaves the token, and its GHASH key (AES of a zero block) is never asked for.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import StorageError
from kiosk.locale import msg
from kiosk.outbox.ports import PayloadTampered

if TYPE_CHECKING:
    from kiosk.cards.pkcs11 import TokenSecretKey

__all__ = ["DEVICE_KEY_LABEL", "FileDeviceKey", "TokenDeviceKey"]

_NONCE = 12
_TAG = 16
DEVICE_KEY_LABEL = "KIOSK_OUTBOX"
"""CKA_LABEL of the outbox's AES-256 key in the device token."""


def _tampered() -> PayloadTampered:
    return PayloadTampered(
        msg("outbox.keys.tampered"),
    )


class FileDeviceKey:
    """An AES-256-GCM key kept in a 0600 file; created on first use."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise StorageError(
                msg("outbox.keys.module"),
            )
        self._aead = AESGCM(secret)
        self._key_id = hashlib.sha256(b"kiosk-device-key" + secret).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, path: Path) -> FileDeviceKey:
        """Read the key at ``path``, creating it (0600, exclusive) when absent."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(os.urandom(32))
                    out.flush()
                    os.fsync(out.fileno())
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StorageError(
                    msg(
                        "outbox.keys.file_device_key_load_or_create",
                        path=path,
                        s_imode=stat.S_IMODE(mode),
                    ),
                )
            secret = path.read_bytes()
        except OSError as exc:
            raise StorageError(
                msg(
                    "outbox.keys.file_device_key_load_or_create_2", path=path, strerror=exc.strerror
                ),
            ) from exc
        return cls(secret)

    @property
    def key_id(self) -> str:
        return self._key_id

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)
        except (InvalidTag, ValueError) as exc:
            raise _tampered() from exc


class TokenDeviceKey:
    """The outbox's AES-256-GCM key in a PKCS#11 token; rows sealed as :class:`FileDeviceKey`."""

    def __init__(self, key: TokenSecretKey) -> None:
        from kiosk.cards.pkcs11 import SealedDataRejected

        self._key = key
        self._rejected = SealedDataRejected
        self._key_id = hashlib.sha256(b"kiosk-device-key-check" + key.check_value).hexdigest()[:16]

    @classmethod
    async def login(
        cls, module: Path, pin: str, *, token_label: str, key_label: str = DEVICE_KEY_LABEL
    ) -> TokenDeviceKey:
        """Log in to ``token_label`` through the PKCS#11 ``module`` and hold ``key_label``."""
        from kiosk.cards.pkcs11 import CpsModule

        key = await CpsModule(module).open_secret_key(
            pin, token_label=token_label, key_label=key_label
        )
        return cls(key)

    @property
    def key_id(self) -> str:
        return self._key_id

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._key.encrypt_gcm(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < _NONCE + _TAG:
            raise _tampered()
        try:
            return self._key.decrypt_gcm(sealed[:_NONCE], sealed[_NONCE:], aad)
        except self._rejected as exc:
            raise _tampered() from exc

    async def aclose(self) -> None:
        """Log out of the token; the key cannot seal or open afterwards."""
        await self._key.aclose()
