"""The device key that seals outbox payloads with AES-GCM.

Simulation and development: :class:`FileDeviceKey`, 32 random bytes in a file
created with mode 0600 (and refused if anyone else may read it). Production seam:
any object with the :class:`~kiosk.outbox.ports.DeviceKey` shape — a PKCS#11 secret
key (``CKM_AES_GCM`` in the establishment's token, through ``kiosk/cards/cps.py``,
the only module allowed to import ``pkcs11``) or a TPM-sealed key unsealed at boot
into kernel keyring memory. The sealed format (12-byte nonce, ciphertext, 16-byte
tag) is what AES-GCM gives on either side, so rows stay readable when the adapter
changes as long as the key material does.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import StorageError
from kiosk.outbox.ports import PayloadTampered

__all__ = ["FileDeviceKey"]

_NONCE = 12


class FileDeviceKey:
    """An AES-256-GCM key kept in a 0600 file; created on first use."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise StorageError(
                "Clé de l'appareil invalide (32 octets attendus).",
                "Invalid device key (32 bytes expected).",
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
                    f"La clé de l'appareil {path} est lisible par d'autres (droits "
                    f"{stat.S_IMODE(mode):o}) ; attendu 600.",
                    f"Device key {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
                    "expected 600.",
                )
            secret = path.read_bytes()
        except OSError as exc:
            raise StorageError(
                f"Clé de l'appareil illisible : {path} ({exc.strerror})",
                f"Cannot read the device key: {path} ({exc.strerror})",
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
            raise PayloadTampered(
                "Contenu chiffré altéré ou déplacé : il ne sera pas envoyé.",
                "Sealed payload was altered or moved: it will not be sent.",
            ) from exc
