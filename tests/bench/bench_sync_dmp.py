"""``kiosk sync`` through the wiring to the simulated DMP over a real socket.

N creations (fictitious patients under the INS test OID, valid NIR keys) are
enqueued signed with the establishment's key, then one sync pass drains them through
the sender :mod:`kiosk.wiring` builds (VIHF signed with ORG_SIGN, TD1.1 over HTTP to
``kiosk sim serve`` on an ephemeral port). Reported: the drain rate against the
configured rate, at 5 tx/s and at 2.5 tx/s (where the send path's own cost, about
0.2 s per creation on this machine, is no longer the limit).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.clock import SystemClock
from kiosk.config import parse_settings
from kiosk.dmp.items import creation_item
from kiosk.dmp.transactions import ConsentStatement, CreationRequest, VitaleTraits
from kiosk.domain.ins import Ins
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.services.sync import SyncService, policy_from_settings
from kiosk.sim.pki import ESTABLISHMENT, ensure_test_pki
from kiosk.sim.world import ServicesComponent, SimWorld
from kiosk.wiring import outbox_sender

N = 25
TRAITS = VitaleTraits("TESTEUR", "BENCH", "19800501", 1, "M")


def _patient(i: int) -> Ins:
    body = f"1800575112{i:03d}"  # fictitious: male, 1980-05, Paris, order i
    return Ins.of(body + f"{97 - int(body) % 97:02d}", "1.2.250.1.213.1.4.10")


async def _drain(work: Path, rate: float, facts: dict[str, object]) -> dict[str, Any]:
    settings = parse_settings(
        {
            "paths": {"data_dir": str(work)},
            "dmp": {"max_tx_per_second": rate},
            "outbox": {
                "database": str(work / f"outbox-{rate}.sqlite3"),
                "device_key": str(work / "device.key"),
            },
        }
    )
    clock = SystemClock()
    pki = ensure_test_pki(work / "sim" / "pki")
    store = await OutboxStore.open(
        settings.outbox.database, FileDeviceKey.load_or_create(settings.outbox.device_key), clock
    )
    offset = 0 if rate == 5.0 else 500
    signer = pki.signer_for(ESTABLISHMENT)
    for i in range(N):
        consent = ConsentStatement(datetime.now(UTC), creation=True, establishment_access=True)
        kind, key, payload = creation_item(CreationRequest(_patient(offset + i), TRAITS, consent))
        await store.enqueue(kind=kind, idempotency_key=key, payload=payload, signer=signer)
    try:
        async with outbox_sender(settings, clock, facts=facts) as sender:
            service = SyncService(store, sender, clock=clock, policy=policy_from_settings(settings))
            started = time.perf_counter()
            report = await service.run_once()
            elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return {"configured_per_s": rate, "sent": report.sent, "dead": report.dead, "s": elapsed}


def run() -> dict[str, Any]:
    """Drain N creations at 5 tx/s, then at a lower rate to show the bucket follows it."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ensure_test_pki(work / "sim" / "pki")
        world = SimWorld(state_dir=work / "sim", components=[ServicesComponent(port=0)])
        with world.running():
            facts = dict(world.facts)
            runs = [asyncio.run(_drain(work, rate, facts)) for rate in (5.0, 2.5)]
    for r in runs:
        # The first send leaves at once (a full bucket of one): N items span N-1 intervals.
        r["achieved_per_s"] = round((r["sent"] - 1) / r["s"], 3) if r["sent"] > 1 else None
        r["s"] = round(r["s"], 3)
    return {
        "summary": {f"drain_{r['configured_per_s']}_per_s": r["achieved_per_s"] for r in runs}
        | {"items": N, "all_sent": all(r["sent"] == N and r["dead"] == 0 for r in runs)},
        "runs": runs,
    }
