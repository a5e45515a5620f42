"""Identity check end to end in simulation: Vitale data → INSi search → comparison.

Each round runs the desk's flow (``IdentityFlow``): the card read (in memory: the PC/SC
read is measured by the cards benchmark), the beneficiary choice, the INSi search with
the Vitale data — a signed SOAP request to the simulated teleservice — and the
comparison of the card's traits with INSi's. Two transports: in-process
(``httpx.ASGITransport``) and a real socket (uvicorn on 127.0.0.1, ephemeral port).

Shares of the time: ``signing`` = building the request and signing its assertion
(client side), ``service`` = the simulator's own work (parse, signature verification,
search), ``http`` = transport time outside the service, ``parsing`` = the client's
hardened parse and RESULTAT reading; the rest is the flow itself.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from kiosk.clock import FrozenClock
from kiosk.domain.ins import InsEnvironment
from kiosk.domain.vitale import Beneficiary, VitaleCardData
from kiosk.insi.client import InsiClient
from kiosk.insi.messages import LpsIdentity
from kiosk.services.identity import IdentityFlow, MemoryIdentityStore
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import TestPki, ensure_test_pki
from kiosk.sim.world import bind
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy

ROUNDS = 200
WARMUP = 10
CARD = VitaleCardData(
    "SIM-V2-000001", (Beneficiary("MARTIN-TEST", "PAUL", "19800523", "180057505612342", 1, "00"),)
)


async def _card() -> VitaleCardData:
    return CARD


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _rounds(
    http: httpx.AsyncClient, url: str, pki: TestPki, sim: InsiSimulator
) -> dict[str, Any]:
    clock = FrozenClock(datetime.now(UTC))
    soap = SoapClient(http, url, "INSi", timeout_s=10.0)
    lps = LpsIdentity("TEST-CNDA-0000", "kiosk", "0.1.0", "KIOSK-BENCH")
    insi = InsiClient(soap, pki.signer_for("agent"), lps, structure_id="3750100000", clock=clock)
    flow = IdentityFlow(
        read_card=_card, insi=insi, store=MemoryIdentityStore(), clock=clock,
        environment=InsEnvironment.TEST,
    )  # fmt: skip
    durations: list[float] = []
    for index in range(WARMUP + ROUNDS):
        if index == WARMUP:
            soap.timings.reset()
            insi.timings.sign_s = 0.0
            sim.busy_s = 0.0
        started = time.perf_counter()
        await flow.read_card()
        flow.choose(0)
        check = await flow.query_insi()
        assert check.identity is not None
        assert not check.card_differences
        if index >= WARMUP:
            durations.append((time.perf_counter() - started) * 1000)
    total = sum(durations) / 1000
    http_s = max(0.0, soap.timings.http_s - sim.busy_s)
    shares = {
        "signing": insi.timings.sign_s / total,
        "service": sim.busy_s / total,
        "http": http_s / total,
        "parsing": soap.timings.parse_s / total,
    }
    shares["flow_and_rest"] = max(0.0, 1 - sum(shares.values()))
    return {
        "rounds": ROUNDS,
        "median_ms": round(statistics.median(durations), 2),
        "p95_ms": round(_pct(durations, 0.95), 2),
        "max_ms": round(max(durations), 2),
        "share": {k: round(v, 3) for k, v in shares.items()},
    }


async def _in_process(pki: TestPki) -> dict[str, Any]:
    sim = InsiSimulator(IssuedBy((pki.ca_certificate,), lambda: datetime.now(UTC)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as http:
        return await _rounds(http, "http://sim/", pki, sim)


async def _socket(pki: TestPki) -> dict[str, Any]:
    sim = InsiSimulator(IssuedBy((pki.ca_certificate,), lambda: datetime.now(UTC)))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(sim.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
            return await _rounds(http, url, pki, sim)
    finally:
        server.should_exit = True
        await task
        sock.close()


def run() -> dict[str, Any]:
    """Median and p95 of one identity check, with the share of signing, HTTP and parsing."""
    with tempfile.TemporaryDirectory() as tmp:
        pki = ensure_test_pki(Path(tmp) / "pki")
        in_process = asyncio.run(_in_process(pki))
        socket = asyncio.run(_socket(pki))
    return {
        "summary": {
            "in_process_median_ms": in_process["median_ms"],
            "in_process_p95_ms": in_process["p95_ms"],
            "socket_median_ms": socket["median_ms"],
            "socket_p95_ms": socket["p95_ms"],
            "socket_share": socket["share"],
        },
        "in_process": in_process,
        "socket": socket,
        "signer": "in-process RSA-2048 (a CPS card adds 100-500 ms per signature)",
    }
