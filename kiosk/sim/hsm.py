"""SoftHSM2 tokens that stand in for CPS/CPE cards and the establishment's token.

One token per professional card, labelled ``<card kind> <card serial>`` (``CPE
0123456789``): the real Cryptolib CPS module exposes one slot per reader, SoftHSM2
cannot, so the label is the link between the virtual card in a reader and its token
(``kiosk/cards/pkcs11/`` looks for either). One more token, ``ORG <structure id>``,
holds the establishment's ``ORG_AUTH_CLI`` and ``ORG_SIGN`` pairs (DOMAIN.md §5).

Each card token holds, as a CPS3 card does (DOMAIN.md §5):

- the authentication pair and certificate, CKA_ID ``01 20`` (ends ``0x20``);
- the signature pair and certificate, CKA_ID ``01 10`` (ends ``0x10``);
- ``CPS_INFO_PS``, a public data object (identity, profession, specialty);
- ``CPS_ACTIVITY_01_PS``, a private data object (structure id, sector).

The byte layout of the real data objects is not public in what we could check
(verify against the Cryptolib CPS manual); the simulator writes UTF-8 ``key=value``
lines, which ``kiosk/cards/pkcs11/`` reads.

Provisioning uses the command-line tools (``softhsm2-util`` to create tokens and
import key pairs, ``pkcs11-tool`` from OpenSC for certificates and data objects),
so that ``kiosk/cards/pkcs11/`` stays the only importer of ``pkcs11``; the key usage
flags the tools cannot clear are then set by ``kiosk/cards/pkcs11/usage.py`` in a child
process: every RSA private key signs only (no DECRYPT/UNWRAP), the signature key as
its non-repudiation certificate states and the authentication key for the TLS
handshake, as on a CPS card. The test PINs
travel as tool arguments: they are fixture values of this simulation, never real
PINs. SoftHSM2 reads its token directory when the module is initialised: provision
before any process loads the module. Each world or test session gets a private
directory and ``softhsm2.conf``; clients select it with ``SOFTHSM2_CONF``
(``SoftHsm.env``).

One token, ``KIOSK DEVICE``, stands for the kiosk itself: it holds the outbox's
AES-256 device key ``KIOSK_OUTBOX`` (issue 8), generated on the token sensitive and
never extractable, and restricted to ``CKM_AES_GCM`` (``CKA_ALLOWED_MECHANISMS``): a
GCM key that also did ECB would hand out its GHASH key, the encryption of a zero
block. Its test PIN is written to ``SoftHsm.device_pin_file`` (0600) for
``outbox.device_key_pin_file``. :func:`import_secret_key` puts known test bytes in a
token, so tests can show that a file key and a token key with the same bytes read
each other's rows.

SoftHSM2 never locks a user PIN: the 3-try lock of a CPS card is added by the
simulator-only ``SimulatedPinLock`` of ``kiosk/cards/pinlock.py``, whose state lives
in ``SoftHsm.pin_tries_dir``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kiosk.errors import Unavailable
from kiosk.locale import msg
from kiosk.outbox.keys import DEVICE_KEY_LABEL
from kiosk.sim.pki import ESTABLISHMENT, Professional, TestPki, Usage, ensure_test_pki

if TYPE_CHECKING:
    from kiosk.sim.component import WorldHost

__all__ = [
    "ACTIVITY_OBJECT",
    "AUTHENTICATION_KEY_ID",
    "DEVICE",
    "DEVICE_KEY_ID",
    "DEVICE_LABEL",
    "INFO_OBJECT",
    "SIGNATURE_KEY_ID",
    "SOFTHSM2_MODULE",
    "ProvisionedToken",
    "SoftHsm",
    "TokensComponent",
    "activity_payload",
    "import_secret_key",
    "info_payload",
    "provision_tokens",
]

SOFTHSM2_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
"""Debian's SoftHSM2 PKCS#11 module (FIELD-NOTES.md "Signatures")."""
SIGNATURE_KEY_ID = bytes.fromhex("0110")
"""CKA_ID of the signature pair: ends ``0x10`` (DOMAIN.md §5)."""
AUTHENTICATION_KEY_ID = bytes.fromhex("0120")
"""CKA_ID of the authentication pair: ends ``0x20`` (DOMAIN.md §5)."""
INFO_OBJECT = "CPS_INFO_PS"
ACTIVITY_OBJECT = "CPS_ACTIVITY_01_PS"
DEVICE = "device"
"""Owner name of the kiosk's own token (``SoftHsm.token(DEVICE)``)."""
DEVICE_LABEL = "KIOSK DEVICE"
"""Label of the token holding the outbox's device key."""
DEVICE_KEY_ID = bytes.fromhex("4b01")
"""CKA_ID of ``KIOSK_OUTBOX`` in that token."""

# The security officer PIN of simulated tokens; nothing in the product logs in as SO.
_SO_PIN = "00000000"
# Test PIN of the simulated device token, a fixture value like the card PINs.
_DEVICE_PIN = "kiosk-device-test"
_TOOL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ProvisionedToken:
    """One provisioned token: its owner, label and test PIN (never in ``repr``)."""

    owner: str
    label: str
    card_serial: str | None
    pin: str = field(repr=False)


@dataclass(frozen=True)
class SoftHsm:
    """A private SoftHSM2 installation: configuration file, token directory, tokens."""

    directory: Path
    module: Path
    tokens: tuple[ProvisionedToken, ...]

    @property
    def conf_path(self) -> Path:
        """The ``softhsm2.conf`` to export as ``SOFTHSM2_CONF``."""
        return self.directory / "softhsm2.conf"

    @property
    def token_dir(self) -> Path:
        """Where SoftHSM2 keeps the token files."""
        return self.directory / "tokens"

    @property
    def pin_tries_dir(self) -> Path:
        """State of the simulated 3-try PIN lock, shared by every process of this world."""
        return self.directory / "pin-tries"

    @property
    def device_pin_file(self) -> Path:
        """The device token's test PIN (0600), for ``outbox.device_key_pin_file``."""
        return self.directory / "device.pin"

    @property
    def env(self) -> dict[str, str]:
        """Environment a client needs before it loads the module."""
        return {"SOFTHSM2_CONF": str(self.conf_path)}

    def token(self, owner: str) -> ProvisionedToken:
        """The token of a professional id or of ``establishment``."""
        for token in self.tokens:
            if token.owner == owner:
                return token
        raise KeyError(f"no token for {owner!r}")


def info_payload(person: Professional) -> bytes:
    """Content of the public ``CPS_INFO_PS`` object (simulator encoding, see module doc)."""
    return _lines(
        national_id=person.national_id,
        given_name=person.given_name,
        family_name=person.family_name,
        profession_code=person.profession_code,
        role=person.role,
        specialty=person.specialty,
        card_kind=person.card_kind,
        card_serial=person.card_serial,
    )


def activity_payload(person: Professional) -> bytes:
    """Content of the private ``CPS_ACTIVITY_01_PS`` object (structure and sector)."""
    return _lines(structure_id=person.structure_id, sector=person.sector)


def _lines(**values: str) -> bytes:
    return "".join(f"{key}={value}\n" for key, value in values.items()).encode()


def provision_tokens(directory: Path, pki: TestPki, *, module: Path = SOFTHSM2_MODULE) -> SoftHsm:
    """Create the tokens of every professional and of the establishment; idempotent."""
    tokens = (
        *(ProvisionedToken(p.id, p.token_label, p.card_serial, p.pin) for p in pki.professionals),
        ProvisionedToken(ESTABLISHMENT, pki.establishment.token_label, None, pki.establishment.pin),
        ProvisionedToken(DEVICE, DEVICE_LABEL, None, _DEVICE_PIN),
    )
    hsm = SoftHsm(directory.resolve(), module, tokens)
    hsm.directory.mkdir(parents=True, exist_ok=True)
    stamp = hsm.directory / ".provisioned"
    expected = _fingerprint(pki, module)
    with _locked(hsm.directory / ".lock"):
        if stamp.exists() and stamp.read_text() == expected:
            return hsm
        shutil.rmtree(hsm.token_dir, ignore_errors=True)
        shutil.rmtree(hsm.pin_tries_dir, ignore_errors=True)
        hsm.token_dir.mkdir(mode=0o700)
        hsm.pin_tries_dir.mkdir(mode=0o700)
        hsm.conf_path.write_text(
            f"directories.tokendir = {hsm.token_dir}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n"
        )
        work = hsm.directory / "work"
        work.mkdir(exist_ok=True)
        try:
            for token in tokens:
                _provision_one(hsm, pki, token, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        hsm.device_pin_file.unlink(missing_ok=True)
        fd = os.open(hsm.device_pin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(_DEVICE_PIN + "\n")
        stamp.write_text(expected)
    return hsm


def _provision_one(hsm: SoftHsm, pki: TestPki, token: ProvisionedToken, work: Path) -> None:
    _run(
        hsm,
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        token.label,
        "--so-pin",
        _SO_PIN,
        "--pin",
        token.pin,
    )
    if token.owner == DEVICE:
        _tool(
            hsm,
            token,
            "--keygen",
            "--key-type",
            "AES:32",
            "--label",
            DEVICE_KEY_LABEL,
            "--id",
            DEVICE_KEY_ID.hex(),
            "--sensitive",
            "--allowed-mechanisms",
            "AES-GCM",
        )
        return
    prefix = "ORG" if token.owner == ESTABLISHMENT else "CPS"
    pairs: tuple[tuple[Usage, bytes, str], ...] = (
        ("auth", AUTHENTICATION_KEY_ID, f"{prefix}_AUTH" + ("_CLI" if prefix == "ORG" else "")),
        ("sign", SIGNATURE_KEY_ID, f"{prefix}_SIGN"),
    )
    for usage, key_id, label in pairs:
        files = pki.files(token.owner, usage)
        _run(
            hsm,
            "softhsm2-util",
            "--import",
            str(files.key),
            "--token",
            token.label,
            "--label",
            label,
            "--id",
            key_id.hex(),
            "--pin",
            token.pin,
        )
        der = work / f"{token.owner}-{usage}.der"
        cert = x509.load_pem_x509_certificate(files.certificate.read_bytes())
        der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        _tool(
            hsm,
            token,
            "--write-object",
            str(der),
            "--type",
            "cert",
            "--id",
            key_id.hex(),
            "--label",
            label,
        )
    # As on a CPS card: each private key signs and nothing else (kiosk/cards/pkcs11/usage.py).
    _run(
        hsm,
        sys.executable,
        "-m",
        "kiosk.cards.pkcs11.usage",
        str(hsm.module),
        token.label,
        *(key_id.hex() for _, key_id, _ in pairs),
        stdin=f"{token.pin}\n",
    )
    if token.owner == ESTABLISHMENT:
        return
    person = next(p for p in pki.professionals if p.id == token.owner)
    for name, payload, private in (
        (INFO_OBJECT, info_payload(person), False),
        (ACTIVITY_OBJECT, activity_payload(person), True),
    ):
        path = work / f"{token.owner}-{name}"
        path.write_bytes(payload)
        extra = ("--private",) if private else ()
        _tool(hsm, token, "--write-object", str(path), "--type", "data", "--label", name, *extra)


def import_secret_key(hsm: SoftHsm, owner: str, label: str, secret: bytes) -> None:
    """Put known AES-256 bytes in ``owner``'s token as key ``label`` (sensitive, GCM only).

    Test and migration aid: a token key made from a file key's bytes opens that file
    key's rows. SoftHSM2 sees objects added to an existing token without a restart.
    """
    if len(secret) != 32:
        raise ValueError("an AES-256 key is 32 bytes")
    token = hsm.token(owner)
    with tempfile.TemporaryDirectory(dir=hsm.directory) as work:
        path = Path(work) / "key.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
        _tool(
            hsm,
            token,
            "--write-object",
            str(path),
            "--type",
            "secrkey",
            "--key-type",
            "AES:32",
            "--label",
            label,
            "--sensitive",
            "--allowed-mechanisms",
            "AES-GCM",
        )


def _tool(hsm: SoftHsm, token: ProvisionedToken, *args: str) -> None:
    _run(
        hsm,
        "pkcs11-tool",
        "--module",
        str(hsm.module),
        "--token-label",
        token.label,
        "--login",
        "--pin",
        token.pin,
        *args,
    )


def _run(hsm: SoftHsm, *argv: str, stdin: str | None = None) -> None:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **hsm.env}
    try:
        # Fixed tools; arguments come from our own fixture.
        subprocess.run(
            argv,
            env=env,
            check=True,
            capture_output=True,
            timeout=_TOOL_TIMEOUT_S,
            input=stdin.encode() if stdin is not None else None,
        )
    except FileNotFoundError as exc:
        raise Unavailable(
            msg("sim.hsm.run", argv=argv[0]),
            detail=str(exc),
        ) from exc
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        # The PIN is an argument: log the tool and its message, never the argv.
        raise Unavailable(
            msg("sim.hsm.run_2"),
            detail=f"{argv[0]} {argv[1]}: {stderr.decode(errors='replace').strip()}",
        ) from exc


def _fingerprint(pki: TestPki, module: Path) -> str:
    digest = hashlib.sha256(str(module).encode())
    usages: tuple[Usage, ...] = ("auth", "sign")
    for owner in pki.owners():
        for usage in usages:
            digest.update(pki.files(owner, usage).certificate.read_bytes())
    for person in pki.professionals:
        digest.update(info_payload(person) + activity_payload(person) + person.pin.encode())
    digest.update(pki.establishment.pin.encode())
    # The device token: its label, key and PIN; the key itself is random per provisioning.
    digest.update(f"{DEVICE_LABEL}|{DEVICE_KEY_LABEL}|AES-GCM|{_DEVICE_PIN}".encode())
    digest.update(b"rsa-keys:sign-only")  # tokens provisioned before that are redone
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class TokensComponent:
    """The simulated world's SoftHSM2 tokens; publishes ``SOFTHSM2_CONF`` in ``world.env``."""

    name = "tokens"

    def __init__(self) -> None:
        self.hsm: SoftHsm | None = None
        self.pki: TestPki | None = None

    def start(self, world: WorldHost) -> None:
        """Generate (or reuse) the test PKI and tokens under the world's state directory."""
        self.pki = ensure_test_pki(world.state_dir / "pki")
        self.hsm = provision_tokens(world.state_dir / "hsm", self.pki)
        world.env.update(self.hsm.env)
        world.facts["tokens"] = {
            "module": str(self.hsm.module),
            "pin_tries_dir": str(self.hsm.pin_tries_dir),
            "pki_dir": str(self.pki.directory),
            "labels": {t.owner: t.label for t in self.hsm.tokens},
            "device_pin_file": str(self.hsm.device_pin_file),
        }

    def stop(self) -> None:
        """Nothing runs: tokens are files, kept for the next start."""

    def describe(self) -> list[str]:
        """Where the tokens are and which card each stands for."""
        if self.hsm is None:
            return ["not started"]
        lines = [f"SOFTHSM2_CONF={self.hsm.conf_path}"]
        lines += [f"token {t.label!r} ({t.owner})" for t in self.hsm.tokens]
        lines.append("log in: kiosk cards login --reader READER")
        lines.append(
            f"outbox device key: device_key_token = {DEVICE_LABEL!r}, "
            f"device_key_pin_file = {str(self.hsm.device_pin_file)!r}"
        )
        return lines
