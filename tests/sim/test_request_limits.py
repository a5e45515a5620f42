"""What both simulated services refuse before parsing: oversized, unreadable, replayed requests.

A request body is read as a stream and dropped at the service's limit (a declared
``Content-Length`` over it is refused before one byte is read); an unreadable request
gets the service's own words, not the client's "unreadable response"; INSi, like the
DMP, accepts a signed request once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.insi.messages import traits_request
from kiosk.insi.protocol import INSI
from kiosk.insi.results import InsiTraits
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.envelope import parse_envelope, serialize
from kiosk.soap.wssec import IssuedBy
from tests.insi_sim import make_client

_MIB = 1 << 20
_SOAP = "application/soap+xml; charset=utf-8"


@pytest.fixture(params=["dmp", "insi"])
def service(request: pytest.FixtureRequest, pki: TestPki, tmp_path: Path) -> Any:
    clock = FrozenClock()
    trust = IssuedBy((pki.ca_certificate,), clock.now)
    if request.param == "insi":
        yield InsiSimulator(trust, clock=clock, max_request_bytes=_MIB)
        return
    sim = DmpSimulator(trust, tmp_path / "dmp.sqlite3", clock=clock, max_request_bytes=_MIB)
    yield sim
    sim.close()


async def _post(
    app: Any, chunks: Callable[[], Any], headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes, int]:
    """POST a body given chunk by chunk straight to the ASGI app: status, answer, chunks read."""
    source = chunks()
    pulled = 0
    answer: list[bytes] = []
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            answer.append(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", _SOAP.encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("sim", 80),
    }
    await app(scope, receive, send)
    return status, b"".join(answer), pulled


def _reason(answer: bytes) -> tuple[str, str]:
    fault = parse_envelope(answer).fault
    assert fault is not None
    return fault.subcode, fault.reason_fr


async def test_a_streamed_512_mib_body_is_dropped_at_the_limit(service: Any) -> None:
    # Chunked (no Content-Length), as curl -T - sends it: 512 chunks of 1 MiB.
    def chunks() -> Any:
        return (b"<" + b"x" * (_MIB - 1) for _ in range(512))

    status, answer, pulled = await _post(service.app, chunks, [])
    assert status == 413
    assert pulled <= 2  # read up to the limit, then the rest is never pulled
    subcode, reason = _reason(answer)
    assert subcode.endswith(":MessageTropVolumineux")
    assert "trop volumineuse" in reason


async def test_a_declared_length_over_the_limit_is_refused_unread(service: Any) -> None:
    def chunks() -> Any:
        return iter([b"<never-read/>"])

    status, answer, pulled = await _post(service.app, chunks, [(b"content-length", b"536870912")])
    assert (status, pulled) == (413, 0)
    assert _reason(answer)[0].endswith(":MessageTropVolumineux")


async def test_a_body_under_the_limit_is_read_and_judged(service: Any) -> None:
    def chunks() -> Any:
        return iter([b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'>", b"<"])

    status, answer, pulled = await _post(service.app, chunks, [])
    assert (status, pulled) == (400, 2)
    _, reason = _reason(answer)
    # The service's own words for what it received, not the client's for an answer.
    assert reason.startswith("Requête illisible")
    assert "Réponse du service illisible" not in reason


async def test_insi_refuses_a_byte_identical_signed_request_sent_again(pki: TestPki) -> None:
    clock = FrozenClock()
    sim = InsiSimulator(IssuedBy((pki.ca_certificate,), clock.now), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as http:
        client = make_client(http, pki.signer_for("agent"), clock)
        traits = InsiTraits.create(
            family_name="Martin-Test", given_names="paul", sex="M", birth_date="1980-05-23"
        )
        wire = serialize(client.build(INSI.op_traits, traits_request(traits, "PAUL")))
        headers = {"content-type": _SOAP}
        first = await http.post("http://sim/", content=wire, headers=headers)
        again = await http.post("http://sim/", content=wire, headers=headers)
        fresh = await client.search_with_traits(traits)  # a new assertion is welcome
    assert first.status_code == 200
    assert again.status_code == 400
    subcode, reason = _reason(again.content)
    assert (subcode, reason) == ("wsse:FailedAuthentication", "Assertion rejouée.")
    assert fresh.identity is not None
