"""Fixtures of the outbox tests: a signing key made once per session, a device key, a store."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from kiosk.clock import FrozenClock
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner, SignerIdentity
from kiosk.sim.feed.sink import FeedSinkProcess


def make_signer(national_id: str = "3750100000/ACCUEIL01", name: str = "ACCUEIL") -> KeySigner:
    """A fictitious establishment staff key and a self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, national_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Centre hospitalier de démonstration"),
        ]
    )
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return KeySigner(key, cert, SignerIdentity(national_id=national_id, display_name=name))


@pytest.fixture(scope="session")
def signer() -> KeySigner:
    return make_signer()


@pytest.fixture(scope="session")
def other_signer() -> KeySigner:
    return make_signer("3750100000/INTRUS", "INTRUS")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def device_key(tmp_path: Path) -> FileDeviceKey:
    return FileDeviceKey.load_or_create(tmp_path / "device.key")


@pytest.fixture
async def store(
    tmp_path: Path, device_key: FileDeviceKey, clock: FrozenClock
) -> AsyncIterator[OutboxStore]:
    opened = await OutboxStore.open(tmp_path / "outbox.sqlite3", device_key, clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session")
def feed_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedSinkProcess]:
    """One feed sink process per test session (tests use their own software ids and rates)."""
    process = FeedSinkProcess.start(tmp_path_factory.mktemp("sink"), rate=5.0)
    try:
        yield process
    finally:
        process.stop()
