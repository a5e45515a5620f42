"""Golden request files: each transaction's envelope exactly as the client sends it.

The signature (key and certificate are generated per test PKI) is left out, and the
two values drawn at random per call — the VIHF's assertion id and, for TD0.2 only,
the HL7 message id — are replaced by placeholders; everything else (WS-Addressing,
WS-Security timestamp, VIHF attributes, HL7 v3 and ebRIM bodies) is compared in
canonical form with ``tests/vectors/dmp/requests/`` (``KIOSK_REGEN_VECTORS=1`` rewrites).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from lxml import etree

from kiosk.dmp.client import DmpClient
from kiosk.dmp.hl7v3 import V3
from kiosk.dmp.mtom import root_part
from kiosk.dmp.transactions import WebAccountRequest
from kiosk.dmp.xds import build_registry_response
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.soap.envelope import NS, build_envelope, parse_envelope, serialize

from .golden import assert_golden
from .registry import read_body, send_soap
from .samples import PATIENT, UPDATE, creation, sample_submission
from .simulated import ClientFactory


class _Recorder:
    """Keeps every request body; the simulator answers HL7, a success answers XDS."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = await read_body(receive)
        self.bodies.append(root_part(raw))
        envelope = parse_envelope(root_part(raw), max_bytes=16 << 20)
        if envelope.action.startswith("urn:ihe:"):
            reply = build_envelope(
                build_registry_response(),
                action=f"{envelope.action}Response",
                message_id="urn:uuid:00000000-0000-4000-8000-000000000000",
                relates_to=envelope.message_id,
            )
            await send_soap(send, serialize(reply))
            return

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture
async def recorded(
    sim: DmpSimulator, make_client: ClientFactory
) -> AsyncIterator[tuple[_Recorder, DmpClient]]:
    recorder = _Recorder(sim.app)
    transport = httpx.ASGITransport(app=recorder)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as client:
        yield recorder, make_client(transport=client)


def _normalised(raw: bytes, *, random_message_id: bool) -> etree._Element:
    root = etree.fromstring(raw)
    for signature in root.iter(f"{{{NS['ds']}}}Signature"):
        signature.getparent().remove(signature)  # type: ignore[union-attr]
    assertion = root.find(f".//{{{NS['saml']}}}Assertion")
    assert assertion is not None
    assertion.set("ID", "_ASSERTION-ID")
    if random_message_id:
        hl7 = root.find(f"{{{NS['soap']}}}Body")[0]  # type: ignore[index]
        message_id = hl7.find(f"{V3}id").get("extension")  # type: ignore[union-attr]
        text = etree.tostring(root).decode().replace(message_id, "MESSAGE-ID")
        text = text.replace(str(uuid.uuid5(uuid.NAMESPACE_URL, f"TD0.2:{message_id}")), "WSA-ID")
        root = etree.fromstring(text.encode())
    return root


Call = Callable[[DmpClient], Awaitable[object]]
CASES: dict[str, tuple[Call, bool]] = {
    "td0_2_existence": (lambda c: c.existence(PATIENT), True),
    "td0_3_authorization": (lambda c: c.authorize(PATIENT, request_id="auth-1"), False),
    "td1_1_creation": (lambda c: c.create(creation(), request_id="create-1"), False),
    "td1_5_web_account": (
        lambda c: c.open_web_account(
            WebAccountRequest(PATIENT, mobile="0612345678"), request_id="web-1"
        ),
        False,
    ),
    "td2_1_submission": (lambda c: c.submit(sample_submission()), False),
    "td3_3_visibility": (lambda c: c.update_attributes(UPDATE), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_request_matches_golden_file(
    name: str, recorded: tuple[_Recorder, DmpClient], make_client: ClientFactory
) -> None:
    recorder, client = recorded
    call, random_id = CASES[name]
    if name in {"td0_3_authorization", "td1_5_web_account"}:
        await make_client().create(creation(), request_id="setup")
    await call(client)
    assert_golden(
        f"requests/{name}.xml", _normalised(recorder.bodies[-1], random_message_id=random_id)
    )
