"""The simulated DMP and INSi refuse a request their schemas refuse, before any rule.

A request changed in a way no business rule looks at (a name the HL7 payload must
carry, an attribute the SOAP envelope does not allow) is answered by the fault a real
service would send, and nothing is done. Without the schemas a simulator still runs,
validation off, and says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.transactions import WebAccountRequest
from kiosk.errors import SoapFault
from kiosk.insi.results import InsiTraits
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import TestPki
from kiosk.sim.schemas import SCHEMAS_ENV
from kiosk.soap.wssec import IssuedBy
from tests.dmp.samples import PATIENT, T0, creation
from tests.dmp.simulated import dmp_client
from tests.insi_sim import make_client as insi_client

TRAITS = InsiTraits.create(
    family_name="Martin-Test", given_names="paul", sex="M", birth_date="1980-05-23"
)


class _Tampering:
    """Forwards to ``app`` once ``change`` has rewritten each request body."""

    def __init__(self, app: Any, change: Callable[[bytes], bytes]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = self.change(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))

        async def replay() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def _no_name(body: bytes) -> bytes:
    # TD1.5's patient must have a name (PRPA_MT201302UV02); no rule of the service reads it.
    assert body.count(b'<name nullFlavor="NI"/>') == 1
    return body.replace(b'<name nullFlavor="NI"/>', b"")


def _foreign_attribute(body: bytes) -> bytes:
    # soap:Envelope allows only attributes of other namespaces; no rule of INSi reads it.
    start = body.index(b"<soap:Envelope") + len(b"<soap:Envelope")
    return body[:start] + b' unexpected="1"' + body[start:]


def _dmp(test_pki: TestPki, tmp_path: Path, **options: Any) -> DmpSimulator:
    clock = FrozenClock(T0)
    trust = IssuedBy((test_pki.ca_certificate,), clock.now)
    return DmpSimulator(trust, tmp_path / "dmp.sqlite3", clock=clock, **options)


def _insi(test_pki: TestPki, **options: Any) -> InsiSimulator:
    clock = FrozenClock()
    return InsiSimulator(IssuedBy((test_pki.ca_certificate,), clock.now), clock=clock, **options)


def test_simulators_started_by_the_tests_validate(
    test_pki: TestPki, tmp_path: Path, schemas_dir: Path
) -> None:
    dmp = _dmp(test_pki, tmp_path)
    try:
        assert dmp.schemas is not None
        assert dmp.schemas.root == schemas_dir.resolve()
    finally:
        dmp.close()
    assert _insi(test_pki).schemas is not None


async def test_the_dmp_refuses_a_nonconformant_request_before_any_rule(
    test_pki: TestPki, tmp_path: Path
) -> None:
    sim = _dmp(test_pki, tmp_path)
    signer = test_pki.signer_for("establishment")
    honest = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://d/")
    tampered = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_Tampering(sim.app, _no_name)), base_url="http://d/"
    )
    async with honest, tampered:
        clock = FrozenClock(T0)
        await dmp_client(honest, signer, clock, endpoint="http://d/").create(
            creation(), request_id="c"
        )
        traces = len(sim.traces(PATIENT.matricule.value))
        with pytest.raises(SoapFault) as caught:
            await dmp_client(tampered, signer, clock, endpoint="http://d/").open_web_account(
                WebAccountRequest(PATIENT, mobile="0612345678")
            )
    after = len(sim.traces(PATIENT.matricule.value))
    sim.close()
    assert caught.value.fault_code == "dmp:RequeteNonConforme"
    assert "name" in caught.value.message("en")
    assert caught.value.permanent
    assert after == traces  # no rule ran, nothing traced


async def test_insi_refuses_a_nonconformant_envelope_before_any_rule(test_pki: TestPki) -> None:
    sim = _insi(test_pki)
    app = _Tampering(sim.app, _foreign_attribute)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = insi_client(http, test_pki.signer_for("agent"), FrozenClock())
        with pytest.raises(SoapFault) as caught:
            await client.search_with_traits(TRAITS)
    assert caught.value.fault_code == "siram:RequeteNonConforme"
    assert [c.outcome for c in sim.calls] == ["refused:siram:RequeteNonConforme"]


async def test_without_schemas_a_simulator_runs_unchecked_and_says_so_once(
    test_pki: TestPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv(SCHEMAS_ENV)
    with caplog.at_level(logging.WARNING, logger="kiosk.sim.schemas"):
        sim = _insi(test_pki)
        other = _insi(test_pki, schemas=tmp_path / "absent")
    assert sim.schemas is None
    assert other.schemas is None
    warnings = [r for r in caplog.records if "schema validation off" in r.getMessage()]
    assert len(warnings) == 2  # one line per simulator started
    app = _Tampering(sim.app, _foreign_attribute)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = insi_client(http, test_pki.signer_for("agent"), FrozenClock())
        assert (await client.search_with_traits(TRAITS)).identity is not None
