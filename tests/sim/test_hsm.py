"""SoftHSM2 provisioning: one token per card and one for the establishment, with CPS objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.sim.hsm import (
    AUTHENTICATION_KEY_ID,
    SIGNATURE_KEY_ID,
    SoftHsm,
    TokensComponent,
    provision_tokens,
)
from kiosk.sim.pki import TestPki, load_professionals
from kiosk.sim.state import load_world_state
from kiosk.sim.world import SimWorld
from tests import softhsm as tokens

test_pki = tokens.test_pki
softhsm = tokens.softhsm


def _objects(hsm: SoftHsm, label: str, pin: str | None) -> str:
    argv = ["pkcs11-tool", "--module", str(hsm.module), "--token-label", label, "-O"]
    if pin is not None:
        argv += ["--login", "--pin", pin]
    done = subprocess.run(argv, env=hsm.env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def _labels(hsm: SoftHsm) -> list[str]:
    done = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        env=hsm.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [
        line.split(":", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.strip().startswith("Label:") and line.split(":", 1)[1].strip()
    ]


def test_one_token_per_card_and_one_for_the_establishment(softhsm: SoftHsm) -> None:
    labels = sorted(_labels(softhsm))
    expected = sorted([f"{p.card_kind} {p.card_serial}" for p in load_professionals()])
    assert labels == sorted([*expected, "ORG 3750100000", "KIOSK DEVICE"])


def test_card_token_holds_both_pairs_with_the_cka_id_convention(softhsm: SoftHsm) -> None:
    agent = softhsm.token("agent")
    listing = _objects(softhsm, agent.label, agent.pin)
    assert SIGNATURE_KEY_ID[-1] == 0x10
    assert AUTHENTICATION_KEY_ID[-1] == 0x20
    for key_id in (SIGNATURE_KEY_ID.hex(), AUTHENTICATION_KEY_ID.hex()):
        assert listing.count(f"ID:         {key_id}") == 3  # private key, public key, cert


def test_activity_object_is_private_and_info_object_public(softhsm: SoftHsm) -> None:
    doctor = softhsm.token("doctor")
    anonymous = _objects(softhsm, doctor.label, None)
    assert "CPS_INFO_PS" in anonymous
    assert "CPS_ACTIVITY_01_PS" not in anonymous
    assert "CPS_ACTIVITY_01_PS" in _objects(softhsm, doctor.label, doctor.pin)


def test_establishment_token_holds_org_certificates(softhsm: SoftHsm) -> None:
    org = softhsm.token("establishment")
    listing = _objects(softhsm, org.label, org.pin)
    assert "ORG_AUTH_CLI" in listing
    assert "ORG_SIGN" in listing
    assert "CPS_INFO_PS" not in listing


def test_provisioning_twice_changes_nothing(softhsm: SoftHsm, test_pki: TestPki) -> None:
    before = {p: p.stat().st_mtime_ns for p in softhsm.token_dir.rglob("*")}
    again = provision_tokens(softhsm.directory, test_pki)
    assert again.tokens == softhsm.tokens
    assert {p: p.stat().st_mtime_ns for p in softhsm.token_dir.rglob("*")} == before


def test_pins_stay_out_of_repr(softhsm: SoftHsm) -> None:
    text = repr(softhsm)
    assert "pin=" not in text
    for token in softhsm.tokens:
        assert token.pin not in text.replace(token.card_serial or "", "")


def test_tokens_component_publishes_softhsm2_conf(tmp_path: Path, test_pki: TestPki) -> None:
    # The world reuses a PKI already in its state directory (RSA generation is slow).
    shutil.copytree(test_pki.directory, tmp_path / "world" / "pki")
    component = TokensComponent()
    world = SimWorld(state_dir=tmp_path / "world", components=[component])
    with world.running():
        conf = Path(world.env["SOFTHSM2_CONF"])
        assert conf.is_file()
        assert f"directories.tokendir = {conf.parent / 'tokens'}" in conf.read_text()
        state = load_world_state(world.state_dir)
        assert state is not None
        assert state["env"] == {"SOFTHSM2_CONF": str(conf)}
        facts = state["facts"]
        assert isinstance(facts, dict)
        assert facts["tokens"]["labels"]["agent"] == "CPE 0123456789"
        assert any("CPE 0123456789" in line for line in world.describe())


def _private_key_usages(listing: str) -> list[str]:
    usages, in_private = [], False
    for line in listing.splitlines():
        if line.startswith(("Private Key Object", "Public Key Object", "Certificate Object")):
            in_private = line.startswith("Private Key Object")
        elif in_private and line.strip().startswith("Usage:"):
            usages.append(line.split(":", 1)[1].strip())
    return usages


def test_every_rsa_private_key_signs_and_nothing_else(softhsm: SoftHsm) -> None:
    # Each certificate states signing (non-repudiation, or the TLS handshake for the
    # authentication key): no DECRYPT, no UNWRAP, as on a CPS card.
    for owner in ("doctor", "agent", "establishment"):
        token = softhsm.token(owner)
        assert _private_key_usages(_objects(softhsm, token.label, token.pin)) == ["sign", "sign"]


def test_a_decryption_with_the_signature_key_is_refused_by_the_token(
    softhsm: SoftHsm, test_pki: TestPki, tmp_path: Path
) -> None:
    doctor = softhsm.token("doctor")
    certificate = x509.load_pem_x509_certificate(
        test_pki.files("doctor", "sign").certificate.read_bytes()
    )
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(public.encrypt(b"for the holder's eyes", padding.PKCS1v15()))
    argv = [
        "pkcs11-tool", "--module", str(softhsm.module), "--token-label", doctor.label,
        "--login", "--pin", doctor.pin, "--decrypt", "--id", SIGNATURE_KEY_ID.hex(),
        "-m", "RSA-PKCS", "--input-file", str(secret),
    ]  # fmt: skip
    done = subprocess.run(argv, env=softhsm.env, capture_output=True, timeout=60, check=False)
    assert done.returncode != 0
    assert b"for the holder's eyes" not in done.stdout
    assert b"CKR_KEY_FUNCTION_NOT_PERMITTED" in done.stdout + done.stderr
