"""Fixtures of the INSi tests: test PKI, the simulator in-process, and a client on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.clock import FrozenClock
from kiosk.insi.client import InsiClient
from kiosk.insi.messages import LpsIdentity
from kiosk.signing import KeySigner, Signer, SignerIdentity
from kiosk.sim.insi_service import InsiSimulator
from kiosk.sim.pki import TestPki, ensure_test_pki
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy

LPS = LpsIdentity("TEST-CNDA-0000", "kiosk", "0.1.0", "KIOSK-TEST-0001")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    # One PKI per test process (this worker's own temporary root), generated once and
    # reused by the soap, insi and identity tests: key generation is the slow part.
    return ensure_test_pki(tmp_path_factory.getbasetemp() / "worker-pki")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def sim(pki: TestPki, clock: FrozenClock) -> InsiSimulator:
    return InsiSimulator(IssuedBy((pki.ca_certificate,), clock.now), clock=clock, delay_s=5.0)


def make_client(
    http: httpx.AsyncClient, signer: Signer, clock: FrozenClock, url: str = "http://sim/"
) -> InsiClient:
    soap = SoapClient(http, url, "INSi", timeout_s=1.0)
    return InsiClient(soap, signer, LPS, structure_id="3750100000", clock=clock)


@pytest.fixture
async def http(sim: InsiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient, pki: TestPki, clock: FrozenClock) -> InsiClient:
    return make_client(http, pki.signer_for("establishment"), clock)


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
