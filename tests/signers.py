"""A signer port for tests that must prove what went through the key."""

from __future__ import annotations

from cryptography import x509

from kiosk.signing import Signer, SignerIdentity

__all__ = ["CountingSigner"]


class CountingSigner:
    """A Signer that records each call, to prove signing goes through the port."""

    def __init__(self, inner: Signer) -> None:
        self.inner = inner
        self.signed: list[bytes] = []

    @property
    def certificate(self) -> x509.Certificate:
        """The inner key's certificate."""
        return self.inner.certificate

    @property
    def identity(self) -> SignerIdentity:
        """The inner key's owner."""
        return self.inner.identity

    def sign(self, data: bytes) -> bytes:
        """Record ``data``, then sign it with the inner key."""
        self.signed.append(data)
        return self.inner.sign(data)
