"""SoapClient: every way an exchange fails becomes one KioskError with a clear message."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from kiosk.errors import AccessDenied, KioskError, ServiceError, SoapFault, Unavailable
from kiosk.sim.pki import TestPki
from kiosk.sim.world import bind
from kiosk.soap.envelope import FaultInfo, InvalidXml, build_envelope, build_fault, serialize
from kiosk.soap.transport import SoapClient, TlsSettings, build_http_client


def _fault(code: str, subcode: str) -> bytes:
    info = FaultInfo(code, subcode, "motif", "reason")
    return serialize(build_envelope(build_fault(info), action="f", message_id="m"))


def _ok() -> bytes:
    body = etree.Element("{urn:test}Pong")
    return serialize(build_envelope(body, action="r", message_id="m2", relates_to="m1"))


async def _stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"<x>" + b"A" * 4096 + b"</x>"

    return StreamingResponse(chunks(), media_type="application/soap+xml")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(10)
    return Response(_ok())


ROUTES = {
    "/ok": lambda r: Response(_ok(), 200, media_type="application/soap+xml"),
    "/503": lambda r: Response("busy", 503),
    "/429": lambda r: Response("slow down", 429),
    "/404": lambda r: Response("nothing here", 404),
    "/moved": lambda r: Response(b"", 307, headers={"location": "http://sim/elsewhere/"}),
    "/sender": lambda r: Response(_fault("Sender", "siram:X"), 400),
    "/receiver": lambda r: Response(_fault("Receiver", "siram:Y"), 500),
    "/auth": lambda r: Response(_fault("Sender", "wsse:FailedAuthentication"), 400),
}


async def _dispatch(request: Request) -> Response:
    return ROUTES[request.url.path](request)  # type: ignore[no-any-return]


APP = Starlette(
    routes=[
        *(Route(path, _dispatch, methods=["POST"]) for path in ROUTES),
        Route("/stream", _stream, methods=["POST"]),
        Route("/slow", _slow, methods=["POST"]),
    ]
)


def _envelope() -> etree._Element:
    return build_envelope(etree.Element("{urn:test}Ping"), action="urn:a", message_id="m1")


async def _call(path: str, **kwargs: float) -> object:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP)) as http:
        client = SoapClient(http, f"http://sim{path}", "INSi", **kwargs)  # type: ignore[arg-type]
        return await client.call(_envelope(), action="urn:a")


async def test_a_good_answer_is_parsed() -> None:
    answer = await _call("/ok")
    assert getattr(answer, "relates_to", None) == "m1"


@pytest.mark.parametrize(
    ("path", "error", "retryable"),
    [
        ("/503", Unavailable, True),
        ("/429", Unavailable, True),
        ("/404", ServiceError, False),
        ("/moved", ServiceError, False),
        ("/sender", SoapFault, False),
        ("/receiver", SoapFault, False),
        ("/auth", AccessDenied, False),
    ],
)
async def test_http_and_soap_failures_map_to_the_error_tree(
    path: str, error: type[KioskError], retryable: bool
) -> None:
    with pytest.raises(error) as caught:
        await _call(path)
    assert type(caught.value) is error
    assert caught.value.retryable is retryable
    assert "INSi" in caught.value.message("fr")


async def test_receiver_fault_is_marked_transient() -> None:
    with pytest.raises(SoapFault) as caught:
        await _call("/receiver")
    assert caught.value.permanent is False
    assert caught.value.fault_code == "siram:Y"


async def test_a_streamed_answer_over_the_limit_is_cut_before_parsing() -> None:
    with pytest.raises(InvalidXml, match="too large"):
        await _call("/stream", max_response_bytes=64 * 1024)


async def test_a_slow_service_times_out_as_unavailable() -> None:
    with pytest.raises(Unavailable) as caught:
        await _call("/slow", timeout_s=0.3)
    assert "délai dépassé" in caught.value.message("fr")


async def test_a_closed_port_is_unavailable_over_a_real_socket() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with build_http_client(None, timeout_s=5) as http:
        client = SoapClient(http, f"http://127.0.0.1:{port}/insi", "INSi")
        with pytest.raises(Unavailable, match="cannot connect"):
            await client.call(_envelope(), action="urn:a")


@contextlib.asynccontextmanager
async def tls_server(pki: TestPki) -> AsyncIterator[str]:
    """The test app over HTTPS on an ephemeral port, demanding a client certificate."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(
        APP,
        log_level="critical",
        lifespan="off",
        ssl_certfile=str(pki.tls.certificate),
        ssl_keyfile=str(pki.tls.key),
        ssl_ca_certs=str(pki.ca_certificate_path),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_mutual_tls_with_the_establishment_pair_over_a_real_socket(pki: TestPki) -> None:
    auth = pki.files("establishment", "auth")
    async with tls_server(pki) as url:
        with_pair = TlsSettings(pki.ca_certificate_path, auth.certificate, auth.key)
        async with build_http_client(with_pair, timeout_s=10) as http:
            answer = await SoapClient(http, f"{url}/ok", "INSi").call(_envelope(), action="a")
            assert answer.relates_to == "m1"
        without = TlsSettings(pki.ca_certificate_path)
        async with build_http_client(without, timeout_s=10) as http:
            with pytest.raises(Unavailable):
                await SoapClient(http, f"{url}/ok", "INSi").call(_envelope(), action="a")


async def test_a_server_outside_the_trusted_authorities_is_refused(pki: TestPki) -> None:
    auth = pki.files("establishment", "auth")
    async with tls_server(pki) as url:
        system_store_only = TlsSettings(None, auth.certificate, auth.key)
        async with build_http_client(system_store_only, timeout_s=10) as http:
            with pytest.raises(Unavailable):
                await SoapClient(http, f"{url}/ok", "INSi").call(_envelope(), action="a")
