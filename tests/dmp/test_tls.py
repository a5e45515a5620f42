"""The DMP client over a real socket: uvicorn requiring a client certificate of the test CA."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from kiosk.cards.pkcs11 import CpsModule
from kiosk.dmp.tls import (
    CardTls,
    CardTlsProxy,
    DirectTlsUnavailable,
    MutualTls,
    TokenTlsTransport,
    client_context,
    indirect_mode_client,
)
from kiosk.errors import ConfigError, Unavailable
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import TestPki
from kiosk.sim.world import bind

from .samples import DOCTOR_ACTOR, DOCTOR_CARD, PATIENT, T0, creation
from .simulated import ClientFactory


@pytest.fixture
async def dmp_url(sim: DmpSimulator, test_pki: TestPki) -> AsyncIterator[str]:
    sock = bind(port=0)
    config = uvicorn.Config(
        sim.app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=str(test_pki.tls.certificate),
        ssl_keyfile=str(test_pki.tls.key),
        ssl_ca_certs=str(test_pki.ca_certificate_path),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(600):
        if server.started:
            break
        await asyncio.sleep(0.05)
    yield f"https://localhost:{sock.getsockname()[1]}/"
    server.should_exit = True
    await task
    sock.close()


def _mutual(test_pki: TestPki, usage: str = "auth") -> MutualTls:
    files = test_pki.files("establishment", usage)  # type: ignore[arg-type]
    return MutualTls(test_pki.ca_certificate_path, files.certificate, files.key)


async def test_indirect_mode_over_mutual_tls_creates_and_finds_the_dmp(
    dmp_url: str, test_pki: TestPki, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    async with indirect_mode_client(_mutual(test_pki), now=T0, timeout_s=30) as real:
        client = make_client(transport=real, endpoint=dmp_url)
        await client.create(creation(), request_id="over-tls")
        assert (await client.existence(PATIENT)).exists
    assert sim.dmp_count() == 1


async def test_without_a_client_certificate_the_server_refuses(
    dmp_url: str, test_pki: TestPki, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    context = ssl.create_default_context(cafile=str(test_pki.ca_certificate_path))
    async with httpx.AsyncClient(verify=context) as real:
        with pytest.raises(Unavailable) as caught:
            await make_client(transport=real, endpoint=dmp_url).existence(PATIENT)
    assert "connexion" in caught.value.message("fr")
    assert sim.traces(PATIENT.matricule.value) == []


async def test_a_server_outside_the_trusted_ca_is_refused(
    dmp_url: str, test_pki: TestPki, make_client: ClientFactory, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(test_pki.tls.certificate.read_bytes())  # not the CA: no chain to it
    mutual = dataclasses.replace(_mutual(test_pki), ca_file=other)
    async with indirect_mode_client(mutual, now=T0, timeout_s=30) as real:
        with pytest.raises(Unavailable):
            await make_client(transport=real, endpoint=dmp_url).existence(PATIENT)


def test_signature_certificate_is_refused_for_tls(test_pki: TestPki) -> None:
    with pytest.raises(ConfigError) as caught:
        client_context(_mutual(test_pki, "sign"), now=T0)
    assert "ORG_AUTH_CLI" in caught.value.message("fr")


def test_missing_key_file_names_the_file(test_pki: TestPki, tmp_path: Path) -> None:
    mutual = dataclasses.replace(_mutual(test_pki), client_key=tmp_path / "absent.pem")
    with pytest.raises(ConfigError) as caught:
        client_context(mutual, now=T0)
    assert "absent.pem" in caught.value.message("en")


def _card(test_pki: TestPki, softhsm: SoftHsm, url: str) -> CardTls:
    return CardTls(
        module=softhsm.module,
        token_label=DOCTOR_CARD.token_label,
        ca_file=test_pki.ca_certificate_path,
        host="127.0.0.1",
        port=int(url.rsplit(":", 1)[1].strip("/")),
        server_name="localhost",
    )


async def test_direct_mode_through_the_card_proxy(
    dmp_url: str,
    test_pki: TestPki,
    softhsm: SoftHsm,
    cps_module: CpsModule,
    make_client: ClientFactory,
    sim: DmpSimulator,
) -> None:
    session = await cps_module.login(DOCTOR_CARD.pin, card_serial=DOCTOR_CARD.card_serial)
    proxy = CardTlsProxy(_card(test_pki, softhsm, dmp_url), env=softhsm.env)
    await proxy.start(DOCTOR_CARD.pin)
    try:
        assert not list(proxy.socket_path.parent.glob("*.conf"))  # the PIN file is gone
        async with proxy.client(timeout_s=30) as through_card:
            client = make_client(
                session.signer, DOCTOR_ACTOR, transport=through_card, endpoint="http://localhost/"
            )
            await client.create(creation(), request_id="by-card-over-tls")
            assert (await client.existence(PATIENT)).exists
    finally:
        await proxy.stop()
    assert not proxy.socket_path.parent.exists()
    modes = {t.mode for t in sim.traces(PATIENT.matricule.value)}
    assert modes == {"DIRECTE"}


async def test_card_proxy_with_a_wrong_pin_says_so(
    dmp_url: str, test_pki: TestPki, softhsm: SoftHsm
) -> None:
    proxy = CardTlsProxy(_card(test_pki, softhsm, dmp_url), env=softhsm.env)
    with pytest.raises(DirectTlsUnavailable) as caught:
        await proxy.start("0000")
    assert "carte" in caught.value.message("fr")
    assert not proxy.socket_path.parent.exists()


def _org_token(test_pki: TestPki, softhsm: SoftHsm, url: str) -> CardTls:
    return CardTls(
        module=softhsm.module,
        token_label=test_pki.establishment.token_label,
        ca_file=test_pki.ca_certificate_path,
        host="127.0.0.1",
        port=int(url.rsplit(":", 1)[1].strip("/")),
        key_label="ORG_AUTH_CLI",
        server_name="localhost",
    )


async def test_indirect_mode_with_the_establishment_key_on_a_token(
    dmp_url: str, test_pki: TestPki, softhsm: SoftHsm, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    """Issue 19: the establishment's keys are "never PEM files on a production kiosk: they
    sit on a PKCS#11 token"."""
    pins: list[str] = []

    def pin() -> str:
        pins.append("read")
        return test_pki.establishment.pin

    transport = TokenTlsTransport(_org_token(test_pki, softhsm, dmp_url), pin, env=softhsm.env)
    async with httpx.AsyncClient(transport=transport, timeout=30) as http:
        client = make_client(transport=http, endpoint=dmp_url)  # https://localhost:…/
        await client.create(creation(), request_id="org-token-over-tls")
        assert (await client.existence(PATIENT)).exists
        proxy_dir = transport._proxy.socket_path.parent if transport._proxy else None
    assert pins == ["read"], "one login for the proxy's life"
    assert sim.dmp_count() == 1
    assert proxy_dir is not None
    assert not proxy_dir.exists(), "closing the client stops the proxy"


async def test_a_wrong_establishment_pin_names_the_token(
    dmp_url: str, test_pki: TestPki, softhsm: SoftHsm, make_client: ClientFactory
) -> None:
    token = _org_token(test_pki, softhsm, dmp_url)
    transport = TokenTlsTransport(token, lambda: "0000", env=softhsm.env)
    async with httpx.AsyncClient(transport=transport, timeout=30) as http:
        with pytest.raises(Unavailable) as caught:
            await make_client(transport=http, endpoint=dmp_url).existence(PATIENT)
    assert token.token_label in caught.value.message("en")
    assert "kiosk selftest" in caught.value.message("en")


async def test_the_wiring_picks_the_token_when_the_site_names_one(
    dmp_url: str,
    test_pki: TestPki,
    softhsm: SoftHsm,
    make_client: ClientFactory,
    tmp_path: Path,
    sim: DmpSimulator,
) -> None:
    from kiosk.clock import FrozenClock
    from kiosk.config import parse_settings
    from kiosk.wiring.dmp import build_dmp_http

    pin_file = tmp_path / "org.pin"
    pin_file.write_text(test_pki.establishment.pin)
    pin_file.chmod(0o600)
    settings = parse_settings(
        {
            "cards": {"kind": "pcsc", "pkcs11_module": str(softhsm.module)},
            "dmp": {
                "kind": "http",
                "endpoint": dmp_url,
                "ca_file": str(test_pki.ca_certificate_path),
                "client_token": test_pki.establishment.token_label,
                "client_pin_file": str(pin_file),
            },
        }
    )
    async with build_dmp_http(settings, FrozenClock(T0)) as http:
        client = make_client(transport=http, endpoint=dmp_url)
        await client.create(creation(), request_id="wired-org-token")
    assert sim.dmp_count() == 1
