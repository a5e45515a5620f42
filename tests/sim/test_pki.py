"""The test PKI: fictitious CA, CPS-like subjects, establishment and TLS certificates, cached."""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.signing import verify_signature
from kiosk.sim.pki import (
    CA_NAME,
    ESTABLISHMENT,
    TestPki,
    ensure_test_pki,
    load_establishment,
    load_professionals,
    professional,
)
from tests import softhsm as tokens

test_pki = tokens.test_pki


def _subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def test_the_ca_says_it_is_a_test_ca_and_not_igc_sante(test_pki: TestPki) -> None:
    ca = test_pki.ca_certificate
    assert _subject(ca, NameOID.COMMON_NAME) == [CA_NAME]
    assert "not IGC Santé" in CA_NAME
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


@pytest.mark.parametrize("owner", ["agent", "doctor", "nurse", ESTABLISHMENT])
@pytest.mark.parametrize("usage", ["auth", "sign"])
def test_every_certificate_is_issued_by_the_test_ca(
    test_pki: TestPki, owner: str, usage: str
) -> None:
    cert = test_pki.certificate(owner, usage)  # type: ignore[arg-type]
    cert.verify_directly_issued_by(test_pki.ca_certificate)


def test_professional_subjects_carry_id_names_and_profession_code(test_pki: TestPki) -> None:
    for person in load_professionals():
        for usage in ("auth", "sign"):
            cert = test_pki.certificate(person.id, usage)  # type: ignore[arg-type]
            assert _subject(cert, NameOID.COMMON_NAME) == [person.national_id]
            assert _subject(cert, NameOID.SURNAME) == [person.family_name]
            assert _subject(cert, NameOID.GIVEN_NAME) == [person.given_name]
            assert _subject(cert, NameOID.COUNTRY_NAME) == ["FR"]
            expected_title = [person.profession_code] if person.profession_code else []
            assert _subject(cert, NameOID.TITLE) == expected_title
    assert _subject(test_pki.certificate("doctor", "sign"), NameOID.TITLE) == ["10"]
    assert _subject(test_pki.certificate("nurse", "sign"), NameOID.TITLE) == ["60"]


def test_national_identifiers_follow_the_cps_prefixes() -> None:
    people = {p.role: p for p in load_professionals()}
    agent = people["admission_agent"]
    assert agent.card_kind == "CPE"
    assert agent.national_id.startswith("3" + agent.structure_id[1:])
    assert re.fullmatch(r"8\d{11}", people["doctor"].national_id)
    assert people["doctor"].profession_code == "10"
    assert people["nurse"].profession_code == "60"
    serials = [p.card_serial for p in load_professionals()]
    assert len(set(serials)) == len(serials)
    assert all(re.fullmatch(r"\d{10}", s) for s in serials)
    assert all(re.fullmatch(r"\d{4}", p.pin) for p in load_professionals())


def test_test_pins_never_appear_in_repr() -> None:
    for person in load_professionals():
        assert "pin" not in repr(person)
        assert person.pin not in repr(person).replace(person.card_serial, "")
    org = load_establishment()
    assert "pin" not in repr(org)
    assert org.pin not in repr(org)


def test_unknown_professional_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="agent"):
        professional("nobody")


def test_signature_and_authentication_certificates_have_distinct_uses(test_pki: TestPki) -> None:
    sign = test_pki.certificate("doctor", "sign").extensions.get_extension_for_class(x509.KeyUsage)
    auth_cert = test_pki.certificate("doctor", "auth")
    auth = auth_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert sign.value.content_commitment
    assert not sign.value.digital_signature
    assert auth.value.digital_signature
    assert not auth.value.content_commitment
    eku = auth_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku


def test_establishment_has_org_auth_cli_and_org_sign(test_pki: TestPki) -> None:
    org = load_establishment()
    auth = test_pki.certificate(ESTABLISHMENT, "auth")
    sign = test_pki.certificate(ESTABLISHMENT, "sign")
    assert _subject(auth, NameOID.COMMON_NAME)[0].startswith("ORG_AUTH_CLI")
    assert _subject(sign, NameOID.COMMON_NAME)[0].startswith("ORG_SIGN")
    for cert in (auth, sign):
        assert _subject(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == [org.national_id]
        assert _subject(cert, NameOID.ORGANIZATION_NAME) == [org.name]


@pytest.mark.parametrize("owner", ["agent", "doctor", ESTABLISHMENT])
def test_signer_for_signs_with_the_signature_key(test_pki: TestPki, owner: str) -> None:
    signer = test_pki.signer_for(owner)
    signature = signer.sign(b"VIHF")
    assert verify_signature(test_pki.certificate(owner, "sign"), b"VIHF", signature)
    assert not verify_signature(test_pki.certificate(owner, "auth"), b"VIHF", signature)
    assert signer is test_pki.signer_for(owner)  # loaded once
    assert signer.identity.national_id == test_pki.identity(owner).national_id


def test_keys_are_private_to_their_owner(test_pki: TestPki) -> None:
    keys = list(test_pki.directory.rglob("*.key.pem"))
    assert len(keys) == 2 * len(test_pki.owners()) + 2  # + CA + TLS
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_a_second_call_reuses_every_file(test_pki: TestPki) -> None:
    before = {p: p.read_bytes() for p in test_pki.directory.rglob("*.pem")}
    again = ensure_test_pki(test_pki.directory)
    assert {p: p.read_bytes() for p in again.directory.rglob("*.pem")} == before


def test_an_incomplete_directory_is_completed_without_a_new_ca(
    test_pki: TestPki, tmp_path: Path
) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(test_pki.directory, copy)
    (copy / "nurse" / "sign.cert.pem").unlink()
    (copy / ".complete").unlink()
    ca_before = (copy / "ca.cert.pem").read_bytes()
    pki = ensure_test_pki(copy)
    assert (copy / "ca.cert.pem").read_bytes() == ca_before
    pki.certificate("nurse", "sign").verify_directly_issued_by(pki.ca_certificate)


async def test_tls_certificate_serves_localhost_and_127_0_0_1(test_pki: TestPki) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(test_pki.tls.certificate, test_pki.tls.key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(test_pki.ca_certificate_path))
    try:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname=host
            )
            assert await reader.read() == b"ok"
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
