"""Hostile answers: entities, billion laughs, a 50 MB body, a replayed or wrapped answer."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.client import WrongAnswer
from kiosk.errors import KioskError, ServiceError
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.envelope import NS, InvalidXml
from kiosk.soap.wssec import IssuedBy

from .samples import CORSICAN, PATIENT, T0, creation
from .simulated import ClientFactory, dmp_client

_SOAP = "application/soap+xml; charset=utf-8"
_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>&x;</soap:Body>
</soap:Envelope>"""
_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<x>&lol3;</x></soap:Body></soap:Envelope>"""


class _Fixed:
    """An ASGI app answering every request with ``chunks`` (streamed, no Content-Length)."""

    def __init__(self, chunks: Callable[[], list[bytes]], *, length: int | None = None) -> None:
        self.chunks, self.length = chunks, length

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", _SOAP.encode())]
        if self.length is not None:
            headers.append((b"content-length", str(self.length).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in self.chunks():
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def hostile(make_client: ClientFactory) -> AsyncIterator[Callable[[Any], Any]]:
    opened: list[httpx.AsyncClient] = []

    def make(app: Any) -> Any:
        transport = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://dmp.test"
        )
        opened.append(transport)
        return make_client(transport=transport)

    yield make
    for client in opened:
        await client.aclose()


@pytest.mark.parametrize("body", [_ENTITY, _LAUGHS], ids=["external-entity", "billion-laughs"])
async def test_dtd_and_entities_are_refused(body: bytes, hostile: Callable[[Any], Any]) -> None:
    with pytest.raises(InvalidXml) as caught:
        await hostile(_Fixed(lambda: [body])).existence(PATIENT)
    assert "DTD" in caught.value.message("en")


async def test_fifty_megabytes_are_cut_off_while_streaming(make_client: ClientFactory) -> None:
    # Over a real socket: the in-process transport buffers whole answers.
    mib = b"<a>" + b"x" * ((1 << 20) - 3)
    sent = 0

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n")
        writer.write(b"Connection: close\r\n\r\n")
        try:
            for _ in range(50):
                writer.write(mib)
                await writer.drain()
                sent += len(mib)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(flood, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient() as real:
        client = make_client(transport=real, endpoint=f"http://127.0.0.1:{port}/")
        with pytest.raises(InvalidXml) as caught:
            await client.existence(PATIENT)
    assert "too large" in caught.value.message("en")
    assert sent < 50 * len(mib)  # the client hung up long before the end


async def test_declared_fifty_megabytes_are_refused_before_reading(
    hostile: Callable[[Any], Any],
) -> None:
    app = _Fixed(lambda: [b"<a/>"], length=50 << 20)
    with pytest.raises(InvalidXml):
        await hostile(app).existence(PATIENT)


def _holder(into: list[Any]) -> Callable[[Any], Awaitable[None]]:
    async def hold(message: Any) -> None:
        into.append(message)

    return hold


class _Replay:
    """Forwards to the simulator; answers every later request with the first answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.first: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.first:
            for message in self.first:
                await send(message)
            return
        await self.app(scope, receive, _holder(self.first))
        for message in self.first:
            await send(message)


async def test_answer_to_another_message_is_refused(
    hostile: Callable[[Any], Any], sim: DmpSimulator
) -> None:
    client = hostile(_Replay(sim.app))
    assert not (await client.existence(CORSICAN)).exists
    with pytest.raises(WrongAnswer) as caught:
        await client.existence(PATIENT)  # gets the Corsican patient's answer
    assert "ne correspond pas" in caught.value.message("fr")


class _Wrapping:
    """Keeps the genuine answer inside a header and puts a forged one in the body."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        held: list[Any] = []
        await self.app(scope, receive, _holder(held))
        raw = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        root = etree.fromstring(raw)
        body = root.find("soap:Body", NS)
        header = root.find("soap:Header", NS)
        assert body is not None
        assert header is not None
        genuine = body[0]
        forged = etree.fromstring(etree.tostring(genuine))
        target = forged.find(".//{urn:hl7-org:v3}targetMessage/{urn:hl7-org:v3}id")
        assert target is not None
        target.set("extension", "forged-target")
        header.append(genuine)  # moved: the real answer hidden where a lax reader looks
        body.append(forged)
        out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", _SOAP.encode())],
            }
        )
        await send({"type": "http.response.body", "body": out})


async def test_wrapped_answer_is_refused_and_creation_stays_single(
    hostile: Callable[[Any], Any], make_client: ClientFactory, sim: DmpSimulator
) -> None:
    with pytest.raises(WrongAnswer):
        await hostile(_Wrapping(sim.app)).create(creation(), request_id="k")
    await make_client().create(creation(), request_id="k")
    assert sim.dmp_count() == 1


async def test_html_error_page_is_a_service_error(hostile: Callable[[Any], Any]) -> None:
    async def teapot(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"<html>not here</html>"})

    with pytest.raises(ServiceError) as caught:
        await hostile(teapot).existence(PATIENT)
    assert "404" in caught.value.message("fr")


def _genuine_existence_answer(test_pki: TestPki) -> tuple[bytes, Callable[[bytes], Any]]:
    """A real TD0.2 answer of the simulator, and a runner sending one query to any bytes."""
    clock = FrozenClock(T0)
    signer = test_pki.signer_for("establishment")
    answers: list[bytes] = []

    async def capture(tmp: Path) -> None:
        sim = DmpSimulator(IssuedBy((test_pki.ca_certificate,), clock.now), tmp, clock=clock)
        recorder = _Replay(sim.app)
        transport = httpx.ASGITransport(app=recorder)
        async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
            await dmp_client(http, signer, clock).existence(PATIENT)
        answers.append(b"".join(m.get("body", b"") for m in recorder.first))
        sim.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(capture(Path(tmp) / "dmp.sqlite3"))

    def send(raw: bytes) -> Any:
        async def once() -> Any:
            transport = httpx.ASGITransport(app=_Fixed(lambda: [raw]))
            async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
                return await dmp_client(http, signer, clock).existence(PATIENT)

        return asyncio.run(once())

    return answers[0], send


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_damage_to_an_answer_gives_a_kiosk_error_never_a_foreign_one(
    test_pki: TestPki, data: st.DataObject
) -> None:
    genuine, send = _CACHE.get("answer") or _CACHE.setdefault(
        "answer", _genuine_existence_answer(test_pki)
    )
    cut = data.draw(st.integers(0, len(genuine)))
    noise = data.draw(st.binary(max_size=40))
    where = data.draw(st.integers(0, len(genuine)))
    damaged = (genuine[:where] + noise + genuine[where:])[: max(cut, 1)]
    outcome: object
    try:
        outcome = send(damaged)
    except KioskError as exc:  # anything else (lxml, httpx, ValueError...) fails the test
        outcome = exc
    if isinstance(outcome, KioskError):
        assert outcome.message("fr")
        assert outcome.message("en")


_CACHE: dict[str, tuple[bytes, Callable[[bytes], Any]]] = {}
