"""The sync service as the app runs it: starts, drains, publishes gauges, stops cleanly."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from prometheus_client import generate_latest

from kiosk.clock import SystemClock
from kiosk.config import Settings
from kiosk.metrics import OutboxMetrics
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.services.sync import SyncService, policy_from_settings
from kiosk.signing import KeySigner
from tests.outbox.fakes import RecordingSender


def test_policy_is_the_site_rate_times_the_kiosk_share() -> None:
    settings = Settings.model_validate(
        {"dmp": {"max_tx_per_second": 4.0}, "outbox": {"kiosk_share": 0.25, "bulk_kinds": ["h"]}}
    )
    policy = policy_from_settings(settings)
    assert policy.rate_per_s == 1.0
    assert policy.bulk_kinds == frozenset({"h"})


async def test_service_drains_and_publishes_then_stops(tmp_path: Path, signer: KeySigner) -> None:
    clock = SystemClock()
    store = await OutboxStore.open(
        tmp_path / "o.sqlite3", FileDeviceKey.load_or_create(tmp_path / "k"), clock
    )
    for i in range(3):
        await store.enqueue(kind="dmp.submit", idempotency_key=f"s{i}", payload=b"p", signer=signer)
    metrics = OutboxMetrics()
    sender = RecordingSender(clock)  # type: ignore[arg-type]
    settings = Settings.model_validate({"outbox": {"kiosk_share": 1.0}})
    service = SyncService(
        store,
        sender,
        clock=clock,
        policy=policy_from_settings(settings),
        metrics=metrics,
        rng=random.Random(3),
    )
    assert await service.start() == 0
    assert 'kiosk_outbox_items{state="pending"} 3.0' in generate_latest(metrics.registry).decode()
    for _ in range(200):
        if len(sender.stored) == 3:
            break
        await asyncio.sleep(0.05)
    assert service.running
    await service.stop()
    assert not service.running
    status = await service.status()
    await store.close()
    assert status.counts["done"] == 3
    assert 'kiosk_outbox_items{state="done"} 3.0' in generate_latest(metrics.registry).decode()
