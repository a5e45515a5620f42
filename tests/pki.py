"""The worker's test PKI and a certificate it did not issue, for tests that bind these fixtures.

A conftest or a test module binds them by name (``from tests.pki import pki``). The PKI
has a fixed directory under the worker's base temporary directory, so every binding
in a process finds the one generated first: key generation is the slow part.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.signing import KeySigner, SignerIdentity
from kiosk.sim.pki import TestPki, ensure_test_pki

__all__ = ["pki", "rogue_signer"]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """One PKI per test process (this worker's own temporary root), generated once."""
    return ensure_test_pki(tmp_path_factory.getbasetemp() / "worker-pki")


@pytest.fixture(scope="session")
def rogue_signer(pki: TestPki) -> KeySigner:
    """A self-made certificate that copies the test CA's name but not its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name.from_rfc4514_string("CN=ROGUE-TEST,O=Nowhere,C=FR")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(pki.ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2035, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    return KeySigner(key, cert, SignerIdentity("3999999999", "Rogue"))
