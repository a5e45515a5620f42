"""Each injected fault, for each transaction: a clear message, and the DMP's state consistent."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from kiosk.dmp.client import DUPLICATE, DmpClient, DmpRefused
from kiosk.dmp.transactions import WebAccountRequest
from kiosk.errors import KioskError, SoapFault, Unavailable
from kiosk.sim.dmp.service import DmpFault, DmpSimulator
from kiosk.soap.envelope import FaultInfo, build_envelope, build_fault, serialize

from .registry import Registry, send_soap
from .samples import PATIENT, UPDATE, creation, sample_submission
from .simulated import ClientFactory

Call = Callable[[DmpClient], Awaitable[object]]

# Writes carry a fixed request id, as the outbox replays them; the existence test does not.
CALLS: dict[str, Call] = {
    "TD0.2": lambda c: c.existence(PATIENT),
    "TD0.3": lambda c: c.authorize(PATIENT, request_id="authorize-1"),
    "TD1.1": lambda c: c.create(creation(), request_id="create-1"),
    "TD1.5": lambda c: c.open_web_account(
        WebAccountRequest(PATIENT, mobile="0612345678"), request_id="web-1"
    ),
}
NEEDS_DMP = {"TD0.3", "TD1.5"}


def _state(sim: DmpSimulator) -> dict[str, object]:
    shown = sim.show(PATIENT.matricule.value)
    return {k: shown[k] for k in ("exists", "web_account", "authorizations")}


def _assert_clear(error: KioskError) -> None:
    assert error.message("fr")
    assert error.message("en")
    assert error.message("fr") != error.message("en")
    assert "Traceback" not in error.message("fr")


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("fault", [DmpFault.HTTP_503, DmpFault.SOAP_FAULT])
async def test_fault_before_the_work_changes_nothing_and_retry_succeeds(
    name: str, fault: DmpFault, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    if name in NEEDS_DMP:
        await client.create(creation(), request_id="setup")
    before = _state(sim)
    sim.inject(fault)
    with pytest.raises((Unavailable, SoapFault)) as caught:
        await CALLS[name](client)
    _assert_clear(caught.value)
    assert caught.value.retryable or not getattr(caught.value, "permanent", True)
    assert _state(sim) == before
    await CALLS[name](client)


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_response_lost_after_the_change_is_resent_without_doing_it_twice(
    name: str, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    if name in NEEDS_DMP:
        await client.create(creation(), request_id="setup")
    sim.inject(DmpFault.LOST_RESPONSE)
    with pytest.raises(Unavailable) as caught:
        await CALLS[name](client)
    _assert_clear(caught.value)
    changed = _state(sim)
    await CALLS[name](client)  # same request id: the stored answer
    assert _state(sim) == changed
    assert sim.dmp_count() == (1 if name in NEEDS_DMP or name == "TD1.1" else 0)


async def test_lost_creation_answer_never_yields_two_dmps(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    sim.inject(DmpFault.LOST_RESPONSE, count=3)
    for _ in range(3):
        with pytest.raises(Unavailable):
            await client.create(creation(), request_id="outbox-key")
    await client.create(creation(), request_id="outbox-key")
    assert sim.dmp_count() == 1


class _Slow:
    """An ASGI wrapper: waits ``before`` seconds, runs the app, waits ``after`` seconds."""

    def __init__(self, app: Any, *, before: float = 0.0, after: float = 0.0) -> None:
        self.app, self.before, self.after = app, before, after

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(self.before)
        sent: list[Any] = []

        async def hold(message: Any) -> None:
            sent.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(self.after)
        for message in sent:
            await send(message)


@pytest.fixture
async def slow_http(sim: DmpSimulator) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []

    def make(**delays: float) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=_Slow(sim.app, **delays))
        client = httpx.AsyncClient(transport=transport, base_url="http://dmp.test")
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_latency_beyond_the_transaction_timeout_is_unavailable(
    name: str,
    make_client: ClientFactory,
    slow_http: Callable[..., httpx.AsyncClient],
    sim: DmpSimulator,
) -> None:
    if name in NEEDS_DMP:
        await make_client().create(creation(), request_id="setup")
    before = _state(sim)
    client = make_client(transport=slow_http(before=5.0), timeouts_s={name: 0.2})
    with pytest.raises(Unavailable) as caught:
        await CALLS[name](client)
    assert "délai" in caught.value.message("fr")
    assert _state(sim) == before


async def test_overall_deadline_bounds_the_whole_call(
    make_client: ClientFactory, slow_http: Callable[..., httpx.AsyncClient]
) -> None:
    client = make_client(transport=slow_http(before=5.0), deadline_s=0.3)
    with pytest.raises(Unavailable) as caught:
        await client.existence(PATIENT)
    assert "à temps" in caught.value.message("fr")


async def test_timeout_after_the_creation_then_resend_makes_one_dmp(
    make_client: ClientFactory, slow_http: Callable[..., httpx.AsyncClient], sim: DmpSimulator
) -> None:
    late = make_client(transport=slow_http(after=5.0), timeouts_s={"TD1.1": 0.3})
    with pytest.raises(Unavailable):
        await late.create(creation(), request_id="key")
    assert sim.dmp_count() == 1
    await make_client().create(creation(), request_id="key")
    assert sim.dmp_count() == 1


async def _resetting_server() -> tuple[asyncio.Server, int]:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        sock = writer.get_extra_info("socket")
        # SO_LINGER 0: close sends a TCP RST instead of a FIN (a proxy dying mid-request).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_connection_reset_is_unavailable(name: str, make_client: ClientFactory) -> None:
    server, port = await _resetting_server()
    async with server, httpx.AsyncClient() as real:
        client = make_client(transport=real, endpoint=f"http://127.0.0.1:{port}/")
        with pytest.raises(Unavailable) as caught:
            await CALLS[name](client)
    _assert_clear(caught.value)
    assert "connexion" in caught.value.message("fr")


async def test_nobody_listening_is_unavailable(make_client: ClientFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient() as real:
        client = make_client(transport=real, endpoint=f"http://127.0.0.1:{port}/")
        with pytest.raises(Unavailable):
            await client.existence(PATIENT)


class _FaultyRegistry(Registry):
    """The test registry, playing one fault before answering."""

    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        fault, self.fault = self.fault, ""
        if fault == "http503":
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"<html>503</html>"})
            return
        if fault == "soap_fault":
            reply = build_envelope(
                build_fault(FaultInfo("Receiver", "dmp:ErreurInterne", "Erreur.", "Error.")),
                action="http://www.w3.org/2005/08/addressing/soap/fault",
                message_id="urn:uuid:00000000-0000-4000-8000-000000000001",
            )
            await send_soap(send, serialize(reply), 500)
            return
        if fault == "slow":
            await asyncio.sleep(5)
        self.lose_next = 1 if fault == "lost_response" else 0
        await super().__call__(scope, receive, send)


REGISTRY_CALLS: dict[str, Call] = {
    "TD2.1": lambda c: c.submit(sample_submission()),
    "TD3.3": lambda c: c.update_attributes(UPDATE),
}


@pytest.mark.parametrize("name", sorted(REGISTRY_CALLS))
@pytest.mark.parametrize("fault", ["http503", "soap_fault", "lost_response", "slow"])
async def test_registry_transactions_under_each_fault(
    name: str, fault: str, make_client: ClientFactory
) -> None:
    registry = _FaultyRegistry(fault)
    transport = httpx.ASGITransport(app=registry)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
        client = make_client(transport=http, timeouts_s={name: 0.3})
        with pytest.raises((Unavailable, SoapFault)) as caught:
            await REGISTRY_CALLS[name](client)
        _assert_clear(caught.value)
        stored = set(registry.stored)
        assert len(stored) == (1 if fault == "lost_response" else 0)
        if name == "TD2.1" and fault == "lost_response":
            # The resend is refused as a duplicate: the first send was stored, once.
            with pytest.raises(DmpRefused) as duplicate:
                await REGISTRY_CALLS[name](client)
            assert duplicate.value.ack_code == DUPLICATE
        else:
            await REGISTRY_CALLS[name](client)
        assert len(registry.stored) == 1


@pytest.mark.parametrize("name", sorted(REGISTRY_CALLS))
async def test_registry_transactions_on_a_reset_connection(
    name: str, make_client: ClientFactory
) -> None:
    server, port = await _resetting_server()
    async with server, httpx.AsyncClient() as real:
        client = make_client(transport=real, endpoint=f"http://127.0.0.1:{port}/")
        with pytest.raises(Unavailable):
            await REGISTRY_CALLS[name](client)
