"""The simulated DMP, server side: time from POST to answer per transaction, in-process.

Each request is built and its VIHF signed *before* the clock starts (that is the
client's cost, measured by ``bench_dmp_client``); what is timed is the simulator's
work through ``httpx.ASGITransport``: hardened parse, VIHF signature check, the
habilitation and consent rules, SQLite, the answer. Submissions carry a ~200 KB
document, inline (base64) and as an MTOM part. Median and p95 over ``RUNS`` calls;
the rate limit is lifted so that it does not refuse the burst.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.cda import build_cda
from kiosk.dmp.mtom import optimise
from kiosk.dmp.transactions import ConsentStatement, CreationRequest, ExistenceQuery
from kiosk.dmp.vocabulary import XDS
from kiosk.dmp.xades import sign_submission
from kiosk.dmp.xds import Submission, build_submission
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import ensure_test_pki
from kiosk.soap.envelope import serialize
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy
from tests.dmp.samples import cda_document
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, sample_submission
from tests.sim.dmp_requests import CONTENT_TYPE, find_request, multipart, retrieve_request

RUNS = 60
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 800 + b"\n%%EOF\n"  # ~200 KB


def _stats(samples: list[float]) -> dict[str, float]:
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
        "runs": len(samples),
    }


async def _timed(
    http: httpx.AsyncClient, bodies: list[tuple[bytes, str]], action: str
) -> dict[str, float]:
    samples = []
    for body, content_type in bodies:
        headers = {"Content-Type": content_type or f'application/soap+xml; action="{action}"'}
        started = time.perf_counter()
        answer = await http.post("http://dmp.test/", content=body, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200 or b"Failure" in answer.content[:2000]:
            raise RuntimeError(f"{action}: {answer.status_code} {answer.content[:300]!r}")
    return _stats(samples)


def _document(n: int, prefix: str) -> Submission:
    cda = cda_document(document_extension=f"{prefix}-{n}", pdf=PDF)
    document = etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8")
    return dataclasses.replace(
        sample_submission(f"{prefix}-{n}", doc=f"{prefix}-{n}"), cda=cda, document=document
    )


async def _run(directory: Path) -> dict[str, object]:
    pki = ensure_test_pki(directory / "pki")
    clock = FrozenClock()
    sim = DmpSimulator(
        IssuedBy((pki.ca_certificate,), clock.now),
        directory / "dmp.sqlite3",
        clock=clock,
        max_feeding_per_s=10**6,
    )
    transport = httpx.ASGITransport(app=sim.app)
    results: dict[str, object] = {}
    try:
        async with httpx.AsyncClient(transport=transport) as http:
            desk = Desk(sim, SoapClient(http, "http://dmp.test/", "DMP", timeout_s=60), pki, clock)
            consent = ConsentStatement(clock.now(), creation=True, establishment_access=True)
            await desk.send(CreationRequest(PATIENT, TRAITS, consent))

            def hl7(request: ExistenceQuery) -> tuple[bytes, str]:
                envelope, _action = desk.envelope(request)
                return serialize(envelope), ""

            existence = [hl7(ExistenceQuery(PATIENT)) for _ in range(RUNS)]
            results["TD0.2"] = await _timed(http, existence, "TD0.2")

            inline = []
            for n in range(RUNS):
                envelope = desk.wrap(build_submission(_document(n, "in")), XDS["action"], PATIENT)
                inline.append((serialize(envelope), ""))
            results["TD2.1_inline_200KB"] = await _timed(http, inline, XDS["action"])

            mtom = []
            for n in range(RUNS):
                # As the client sends it: the inline body signed (XAdES), then split in parts.
                signed = sign_submission(
                    build_submission(_document(n, "xop")), desk.pki.signer_for("doctor")
                )
                payload, parts = optimise(signed)
                envelope = desk.wrap(payload, XDS["action"], PATIENT)
                mtom.append((multipart(serialize(envelope), parts), CONTENT_TYPE))
            results["TD2.1_mtom_200KB"] = await _timed(http, mtom, XDS["action"])

            action = "urn:ihe:iti:2007:RegistryStoredQuery"
            find = [(serialize(desk.wrap(find_request(), action, PATIENT)), "") for _ in range(20)]
            results["TD3.1_find_120_documents"] = await _timed(http, find, action)

            action = "urn:ihe:iti:2007:RetrieveDocumentSet"
            unique = _document(0, "in").document_unique_id
            fetch = [
                (serialize(desk.wrap(retrieve_request(unique), action, PATIENT)), "")
                for _ in range(RUNS)
            ]
            results["TD3.2_retrieve_200KB"] = await _timed(http, fetch, action)
    finally:
        sim.close()
    return results


def run() -> dict[str, object]:
    """Server-side time per transaction of the simulated DMP."""
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(_run(Path(tmp)))
    summary = {
        name: value["median_ms"]  # type: ignore[index]
        for name, value in results.items()
    }
    return {"summary": {"median_ms": summary}, **results}
