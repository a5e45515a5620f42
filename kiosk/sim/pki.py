"""The test PKI of the simulated world: a fictitious CA, professionals' and establishment keys.

Nothing here is IGC Santé: the CA is "AC TEST kiosk — not IGC Santé" and every person
comes from ``kiosk/sim/data/professionals.toml`` (fictitious, DOMAIN.md §7).

Layout on disk (``ensure_test_pki(directory)``), generated once and reused: RSA-2048
generation takes 50–500 ms per key on this machine, so a directory is the cache.
Keys are PEM, unencrypted, mode 0600; a lock file serialises concurrent generators.

```
ca.key.pem  ca.cert.pem
<owner>/auth.key.pem  <owner>/auth.cert.pem   authentication pair (CKA_ID …20)
<owner>/sign.key.pem  <owner>/sign.cert.pem   signature pair (CKA_ID …10)
tls/server.key.pem  tls/server.cert.pem       simulators on 127.0.0.1 / localhost
```

``<owner>`` is a professional id or ``establishment`` (whose pairs are the
``ORG_AUTH_CLI`` and ``ORG_SIGN`` certificates of DOMAIN.md §5).

Certificate subjects follow the CPS profile as far as public sources confirm it:
national identifier in ``CN``, surname in ``SN``, given name in ``GN``, profession
code (G15) in ``title``, structure id in ``OU``, ``C=FR``. The exact attribute order
and the ``CN`` suffix of real CPS3 certificates (e.g. ``/CPS…`` serial) were not
verified against the ANS "gabarits des certificats" document (verify). Establishment
subjects follow the published IGC-Santé TEST example ``CN=<service>, OU=<structure id>,
O=<name>, ST=<region>, C=FR``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import ipaddress
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.signing import KeySigner, SignerIdentity

__all__ = [
    "CA_NAME",
    "ESTABLISHMENT",
    "Establishment",
    "KeyPairFiles",
    "Professional",
    "TestPki",
    "Usage",
    "ensure_test_pki",
    "load_establishment",
    "load_professionals",
    "professional",
]

CA_NAME = "AC TEST kiosk — not IGC Santé"
ESTABLISHMENT = "establishment"
"""Owner name of the establishment's (personne morale) key pairs."""

Usage = Literal["auth", "sign"]

_DATA = Path(__file__).parent / "data" / "professionals.toml"
# Fixed validity: the files are reproducible in content apart from keys and serials,
# and a FrozenClock anywhere in 2025–2035 sees valid certificates.
_NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_NOT_AFTER = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
_KEY_BITS = 2048


@dataclass(frozen=True)
class Professional:
    """A fictitious card holder of the simulation; the test PIN never appears in ``repr``."""

    id: str
    national_id: str
    given_name: str
    family_name: str
    profession_code: str
    role: str
    specialty: str
    structure_id: str
    sector: str
    card_kind: str
    card_serial: str
    pin: str = field(repr=False)

    @property
    def display_name(self) -> str:
        """Given name then family name, as shown at the desk."""
        return f"{self.given_name} {self.family_name}"

    @property
    def token_label(self) -> str:
        """The SoftHSM2 token label that links the token to the card (``CPE 0123456789``)."""
        return f"{self.card_kind} {self.card_serial}"


@dataclass(frozen=True)
class Establishment:
    """The fictitious establishment (personne morale) and its token."""

    id: str
    national_id: str
    finess: str
    name: str
    region: str
    sector: str
    token_label: str
    pin: str = field(repr=False)


@cache
def _fixture() -> dict[str, object]:
    with _DATA.open("rb") as fh:
        return tomllib.load(fh)


def load_professionals() -> tuple[Professional, ...]:
    """Every professional of ``professionals.toml``, in file order."""
    rows = _fixture()["professional"]
    assert isinstance(rows, list)
    return tuple(Professional(**row) for row in rows)


def professional(professional_id: str) -> Professional:
    """The professional with this id; KeyError names the known ids otherwise."""
    for person in load_professionals():
        if person.id == professional_id:
            return person
    known = ", ".join(p.id for p in load_professionals())
    raise KeyError(f"unknown professional {professional_id!r} (known: {known})")


def load_establishment() -> Establishment:
    """The establishment of ``professionals.toml``."""
    row = _fixture()["establishment"]
    assert isinstance(row, dict)
    return Establishment(**row)


@dataclass(frozen=True)
class KeyPairFiles:
    """Where one key pair and its certificate live."""

    key: Path
    certificate: Path


class TestPki:
    """A generated test PKI directory: CA, owners' key pairs, TLS server pair."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.professionals = load_professionals()
        self.establishment = load_establishment()
        self._signers: dict[str, KeySigner] = {}
        self._ca_certificate = x509.load_pem_x509_certificate(self.ca_certificate_path.read_bytes())

    @property
    def ca_certificate_path(self) -> Path:
        """PEM certificate of the test CA (trust anchor for the simulators' clients)."""
        return self.directory / "ca.cert.pem"

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The test CA certificate."""
        return self._ca_certificate

    @property
    def tls(self) -> KeyPairFiles:
        """The simulators' TLS server key and certificate (127.0.0.1 and localhost)."""
        return KeyPairFiles(
            self.directory / "tls" / "server.key.pem", self.directory / "tls" / "server.cert.pem"
        )

    def owners(self) -> tuple[str, ...]:
        """Every owner of key pairs: each professional id, then ``establishment``."""
        return (*(p.id for p in self.professionals), ESTABLISHMENT)

    def files(self, owner: str, usage: Usage) -> KeyPairFiles:
        """The files of ``owner``'s authentication or signature pair."""
        if owner not in self.owners():
            raise KeyError(f"unknown owner {owner!r} (known: {', '.join(self.owners())})")
        base = self.directory / owner
        return KeyPairFiles(base / f"{usage}.key.pem", base / f"{usage}.cert.pem")

    def certificate(self, owner: str, usage: Usage) -> x509.Certificate:
        """``owner``'s certificate for ``usage``."""
        return x509.load_pem_x509_certificate(self.files(owner, usage).certificate.read_bytes())

    def identity(self, owner: str) -> SignerIdentity:
        """Who ``owner``'s signatures speak for."""
        if owner == ESTABLISHMENT:
            return SignerIdentity(self.establishment.national_id, self.establishment.name)
        person = professional(owner)
        return SignerIdentity(person.national_id, person.display_name)

    def signer_for(self, owner: str) -> KeySigner:
        """An in-process signer over ``owner``'s **signature** key, loaded once per PKI object."""
        signer = self._signers.get(owner)
        if signer is None:
            files = self.files(owner, "sign")
            signer = KeySigner.from_pem_files(files.key, files.certificate, self.identity(owner))
            self._signers[owner] = signer
        return signer


def ensure_test_pki(directory: Path) -> TestPki:
    """Generate the test PKI in ``directory`` unless already there; idempotent and process-safe."""
    directory.mkdir(parents=True, exist_ok=True)
    # Loading ten RSA keys costs ~0.5 s (key validation): a stamp of the fixture
    # content tells that the directory is complete, so a reuse costs nothing.
    stamp = directory / ".complete"
    expected = hashlib.sha256(_DATA.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == expected:
        return TestPki(directory)
    with _locked(directory / ".lock"):
        ca_key = _key(directory / "ca.key.pem")
        ca_cert_path = directory / "ca.cert.pem"
        if not ca_cert_path.exists():
            _write(ca_cert_path, _pem(_ca_certificate(ca_key)), 0o644)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        for person in load_professionals():
            for usage in ("auth", "sign"):
                _issue(directory / person.id, usage, _person_name(person), ca_key, ca_cert)
        org = load_establishment()
        for usage, service in (("auth", "ORG_AUTH_CLI"), ("sign", "ORG_SIGN")):
            _issue(directory / ESTABLISHMENT, usage, _org_name(org, service), ca_key, ca_cert)
        _issue(directory / "tls", "server", _tls_name(), ca_key, ca_cert)
        _write(stamp, expected.encode(), 0o644)
    return TestPki(directory)


def _person_name(person: Professional) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, person.structure_id),
    ]
    if person.profession_code:
        # G15 profession code, as CPS certificates carry it (DOMAIN.md §5).
        attributes.append(x509.NameAttribute(NameOID.TITLE, person.profession_code))
    attributes += [
        x509.NameAttribute(NameOID.SURNAME, person.family_name),
        x509.NameAttribute(NameOID.GIVEN_NAME, person.given_name),
        x509.NameAttribute(NameOID.COMMON_NAME, person.national_id),
    ]
    return x509.Name(attributes)


def _org_name(org: Establishment, service: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, org.region),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org.national_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{service} {org.finess}"),
        ]
    )


def _tls_name() -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])


def _ca_name() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kiosk test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
        ]
    )


def _ca_certificate(ca_key: rsa.RSAPrivateKey) -> x509.Certificate:
    public = ca_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_ca_name())
        .issuer_name(_ca_name())
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _issue(
    base: Path,
    usage: str,
    subject: x509.Name,
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
) -> None:
    key = _key(base / f"{usage}.key.pem")
    cert_path = base / f"{usage}.cert.pem"
    if cert_path.exists():
        return
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_rsa_public(ca_cert)),
            critical=False,
        )
    )
    if usage == "sign":
        # Signature certificates: non-repudiation only, never TLS (DOMAIN.md §5).
        builder = builder.add_extension(_key_usage(content_commitment=True), critical=True)
    elif usage == "auth":
        builder = builder.add_extension(
            _key_usage(digital_signature=True, key_encipherment=True), critical=True
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    else:
        builder = (
            builder.add_extension(
                _key_usage(digital_signature=True, key_encipherment=True), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
        )
    _write(cert_path, _pem(builder.sign(ca_key, hashes.SHA256())), 0o644)


def _rsa_public(cert: x509.Certificate) -> rsa.RSAPublicKey:
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_encipherment: bool = False,
    cert_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key(path: Path) -> rsa.RSAPrivateKey:
    """Load the key at ``path``, generating it (0600) when absent."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem, 0o600)
    return key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with ``mode`` from the first byte (a key is never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    tmp.replace(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
