"""The Signer port: who signs, and with which key, without saying where the key lives.

One protocol serves the XML signatures of soap/wssec.py (VIHF, WS-Security, XAdES)
and the detached signatures of the outbox. Two adapters: :class:`KeySigner` over an
in-process ``cryptography`` key (the establishment's software key in simulation), and
the PKCS#11 signer of ``kiosk/cards/pkcs11/`` (a CPE card, a SoftHSM2 token, the
establishment's ``ORG_SIGN`` token). Keys are loaded once: parsing a PEM key costs
~60 ms (FIELD-NOTES.md), a signature ~1 ms. The same file named twice (INSi and the
DMP both sign as the establishment) is parsed once per process, for as long as the
file is unchanged.

Every signature is RSASSA-PKCS1-v1_5 with SHA-256, the algorithm the DMP expects
(DOMAIN.md §6).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["KeySigner", "Signer", "SignerIdentity", "verify_signature"]


@dataclass(frozen=True)
class SignerIdentity:
    """Who a signature speaks for: national id (``8``+RPPS or ``3``+structure id) and name."""

    national_id: str
    display_name: str


class Signer(Protocol):
    """Signs bytes with RSA-SHA256 and tells which certificate verifies it."""

    @property
    def certificate(self) -> x509.Certificate:
        """The X.509 certificate of the signing key."""
        ...

    @property
    def identity(self) -> SignerIdentity:
        """The person or establishment the key belongs to."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The RSASSA-PKCS1-v1_5 SHA-256 signature of ``data``."""
        ...


class KeySigner:
    """A Signer over an in-process RSA key, loaded once."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        identity: SignerIdentity,
    ) -> None:
        self._key = key
        self._certificate = certificate
        self._identity = identity

    @classmethod
    def from_pem_files(cls, key_path: Path, cert_path: Path, identity: SignerIdentity) -> KeySigner:
        """Load a PEM key and certificate (once per file version: key parsing is the slow part)."""
        key, cert = _load_pem_pair(key_path, cert_path)
        return cls(key, cert, identity)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def identity(self) -> SignerIdentity:
        return self._identity

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The key object itself, for libraries (signxml) that sign in process."""
        return self._key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


_PAIRS: dict[tuple[object, ...], tuple[rsa.RSAPrivateKey, x509.Certificate]] = {}
_PAIRS_LOCK = threading.Lock()


def _load_pem_pair(key_path: Path, cert_path: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The key and certificate of two PEM files, parsed once while neither file changes.

    Keyed by each file's device, inode, size and modification time: a key rotated in
    place is read again, and a test PKI generated afresh in the same directory too.
    """
    seen = []
    for path in (key_path, cert_path):
        st = path.stat()
        seen.append((str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    version = tuple(seen)
    with _PAIRS_LOCK:
        pair = _PAIRS.get(version)
    if pair is not None:
        return pair
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("only RSA keys are used for health-sector signatures")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    with _PAIRS_LOCK:
        _PAIRS[version] = (key, cert)
    return key, cert


def verify_signature(certificate: x509.Certificate, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid RSA-SHA256 signature of ``data`` by ``certificate``."""
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
