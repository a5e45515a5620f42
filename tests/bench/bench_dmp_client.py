"""DMP client per transaction against the simulator: VIHF build + sign, HTTP, parse; creation flow.

Each transaction is timed per call, median and p95 over the runs, split as the client
sees it: ``vihf`` (build the assertion and sign it through soap/wssec, off the loop),
``http`` (the exchange, *including* the simulator's own work since it runs in-process
through ``httpx.ASGITransport``: an upper bound of the client's share) and ``parse``
(hardened parse of the answer). Signatures with the test PKI's in-process key and,
for TD0.2, with a SoftHSM2 token through PKCS#11. TD2.1 sends a 200 KB PDF in its CDA
as an MTOM part; TD3.3 hides that document from professionals. The creation flow runs the whole
admission — TD0.2, information, consent, TD1.1 through the real outbox and sync
worker, TD1.5 — for a new fictitious patient each time (valid NIR keys, INS test OID).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from kiosk.cards.pkcs11 import CpsModule
from kiosk.clock import FrozenClock
from kiosk.dmp.attributes import AttributeChange, AttributeUpdate
from kiosk.dmp.cda import CdaDocument, DocumentAuthor, build_cda
from kiosk.dmp.client import DmpClient, DmpSettings
from kiosk.dmp.sender import DmpSender
from kiosk.dmp.transactions import (
    ConsentStatement,
    CreationRequest,
    VitaleTraits,
    WebAccountRequest,
    WebCredentials,
)
from kiosk.dmp.vihf import Actor, Software
from kiosk.dmp.vocabulary import DOCUMENT_MODELS, INS_TEST_OID, OID, CodedValue
from kiosk.dmp.xds import Submission
from kiosk.domain.ins import Identity, IdentityStatus, Ins, StrictTraits
from kiosk.domain.visibility import Visibility
from kiosk.outbox.delivery import StoreOutbox
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncPolicy, SyncWorker
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.signing import Signer
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.hsm import provision_tokens
from kiosk.sim.pki import TestPki, ensure_test_pki, professional
from kiosk.soap.wssec import IssuedBy
from tests.dmp import samples
from tests.services.memory_ports import MemoryDmpRecords

RUNS = 100
FLOWS = 30
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
# The client takes each issuer from its signing certificate.
AGENT = dataclasses.replace(samples.AGENT, issuer="")
DOCTOR = dataclasses.replace(samples.DOCTOR, issuer="")
SOFTWARE = Software("KIOSK-BENCH", "kiosk", "0.1.0", "TEST-DMP-HOMOLOGATION")
VITALE = VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F")
STRICT = StrictTraits.create("Testeur", "Alice", date(1977, 7, 6), "F", "63220")


def patient(n: int) -> Ins:
    """A fictitious woman born in Paris in January 1980, order number ``n`` (valid key)."""
    body = f"2800175123{n:03d}"
    return Ins.of(f"{body}{97 - int(body) % 97:02d}", INS_TEST_OID)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 3),
    }


async def _per_call(
    client: DmpClient, call: Callable[[int], Awaitable[object]], runs: int
) -> dict[str, Any]:
    parts: dict[str, list[float]] = {"vihf": [], "http": [], "parse": [], "total": []}
    for i in range(-3, runs):
        client.timings.reset()
        started = time.perf_counter()
        await call(i + 3)
        total = time.perf_counter() - started
        if i < 0:
            continue  # warm-up
        parts["vihf"].append(client.timings.vihf_s)
        parts["http"].append(client.timings.exchange.http_s)
        parts["parse"].append(client.timings.exchange.parse_s)
        parts["total"].append(total)
    return {name: _stats(values) for name, values in parts.items()} | {"runs": runs}


def _submission(who: Ins, n: int, pdf: bytes) -> Submission:
    """Discharge letter ``n`` of ``who`` (ids derived from ``n``: a resend is the same)."""
    cda = CdaDocument(
        document_root="1.2.250.1.999.1.1",
        document_extension=f"bench-{n:04d}",
        model=DOCUMENT_MODELS["discharge_summary"],
        title="Lettre de liaison à la sortie",
        patient=who,
        traits=STRICT,
        author=DocumentAuthor(
            "899900000001", "MEDECIN-TEST", "Dominique", DOCTOR.profession, "3750100000", "CH"
        ),
        created=T0,
        service_start=T0 - timedelta(days=2),
        service_end=T0,
        facility=CodedValue("SA01", OID["r02_sector"]),
        pdf=pdf or b"%PDF-1.7\n",
    )
    return Submission(
        cda=cda,
        document=etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8"),
        entry_uuid=uuid.uuid5(uuid.NAMESPACE_OID, f"entry-{n}"),
        submission_uuid=uuid.uuid5(uuid.NAMESPACE_OID, f"set-{n}"),
        submission_unique_id=f"1.2.250.1.999.1.2.{n + 1}",
        source_id="1.2.250.1.999.1.3",
        visibility=Visibility(),
        class_code=CodedValue("10", OID["xds_class"]),
        practice=CodedValue("ETABLISSEMENT", OID["xds_practice"]),
        content_type=CodedValue("04", OID["xds_content_type"]),
        submitted=T0,
    )


class _Receipts:
    async def print_credentials(self, credentials: WebCredentials) -> None:
        return None


async def _bench(pki: TestPki, work: Path) -> dict[str, Any]:
    clock = FrozenClock(T0)
    sim = DmpSimulator(
        IssuedBy((pki.ca_certificate,), clock.now), work / "dmp.sqlite3", clock=clock
    )
    transport = httpx.ASGITransport(app=sim.app)
    settings = DmpSettings("http://dmp.test/", "1.2.250.1.999.1.4")
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:

        def client(signer: Signer, actor: Actor = AGENT) -> DmpClient:
            return DmpClient(
                http, signer, actor=actor, software=SOFTWARE, clock=clock, settings=settings
            )

        agent = client(pki.signer_for("establishment"))
        consent = ConsentStatement(T0, creation=True, establishment_access=True)
        results["TD1.1"] = await _per_call(
            agent,
            lambda i: agent.create(
                CreationRequest(patient(i), VITALE, consent), request_id=f"c{i}"
            ),
            RUNS,
        )
        results["TD0.2"] = await _per_call(agent, lambda i: agent.existence(patient(i)), RUNS)
        results["TD0.3"] = await _per_call(agent, lambda i: agent.authorize(patient(i)), RUNS)
        results["TD1.5"] = await _per_call(
            agent,
            lambda i: agent.open_web_account(WebAccountRequest(patient(i), mobile="0612345678")),
            RUNS,
        )

        author = client(pki.signer_for("doctor"), DOCTOR)
        pdf = b"%PDF-1.7\n" + os.urandom(200 * 1024)

        async def submit(i: int) -> None:
            clock.advance(0.25)  # the service allows 5 feeding transactions per second
            await author.submit(_submission(patient(i), i, pdf))

        async def hide(i: int) -> None:
            clock.advance(0.25)
            entry = _submission(patient(i), i, b"")
            await author.update_attributes(
                AttributeUpdate(
                    uuid.uuid5(entry.entry_uuid, "hide"),
                    patient(i),
                    f"urn:uuid:{entry.entry_uuid}",
                    entry.document_unique_id,
                    AttributeChange.VISIBILITY,
                    visibility=Visibility(professionals=False),
                )
            )

        results["TD2.1_mtom_200kb"] = await _per_call(author, submit, RUNS)
        results["TD3.3_visibility"] = await _per_call(author, hide, RUNS)

        hsm = provision_tokens(work / "softhsm", pki)
        os.environ.update(hsm.env)
        module = CpsModule(hsm.module)
        doctor = professional("doctor")
        session = await module.login(doctor.pin, card_serial=doctor.card_serial)
        by_card = client(session.signer, DOCTOR)
        results["TD0.2_softhsm2"] = await _per_call(
            by_card, lambda i: by_card.existence(patient(i)), RUNS
        )
        await module.close_all()

        store = await OutboxStore.open(
            work / "outbox.sqlite3", FileDeviceKey.load_or_create(work / "device.key"), clock
        )

        async def no_wait(seconds: float) -> None:
            clock.advance(seconds)

        worker = SyncWorker(
            store, DmpSender(agent), clock=clock, policy=SyncPolicy(), sleep=no_wait
        )
        outbox = StoreOutbox(store, pki.signer_for("establishment"), worker.run_once)
        flows: list[float] = []
        for n in range(500, 500 + FLOWS):
            started = time.perf_counter()
            flow = EnrolmentFlow(
                dmp=agent,
                outbox=outbox,
                records=MemoryDmpRecords(),
                printer=_Receipts(),
                clock=clock,
                structure_id="3750100000",
                recorded_by="3750100000/0000042",
            )
            await flow.start(Identity(patient(n), STRICT, IdentityStatus.QUAL), VITALE)
            await flow.give_information(brochure=True)
            await flow.consent(creation=True, establishment_access=True)
            await flow.open_web_account(mobile="0612345678")
            flow.finish()
            flows.append(time.perf_counter() - started)
        await store.close()
        results["creation_flow"] = _stats(flows) | {"runs": FLOWS}
    sim.close()
    return results


def run() -> dict[str, Any]:
    """Every transaction and the creation flow; the summary keeps the medians."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = ensure_test_pki(work / "pki")
        results = asyncio.run(_bench(pki, work))
    summary = {
        name: {part: values["median_ms"] for part, values in row.items() if part != "runs"}
        for name, row in results.items()
        if name != "creation_flow"
    }
    summary["creation_flow_median_ms"] = results["creation_flow"]["median_ms"]  # type: ignore[assignment]
    summary["creation_flow_p95_ms"] = results["creation_flow"]["p95_ms"]  # type: ignore[assignment]
    return {"summary": summary, "transactions": results}
