"""``kiosk outbox …`` and ``kiosk sync --once`` against a real file and the feed sink process."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext
from kiosk.commands.outbox import outbox, sync
from kiosk.errors import NotFound
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner
from kiosk.sim.feed.sink import FeedSinkComponent
from kiosk.sim.world import SimWorld


@pytest.fixture
def world(tmp_path: Path) -> SimWorld:
    sim = SimWorld(state_dir=tmp_path / "sim", components=[FeedSinkComponent(rate=5.0)])
    sim.start()
    yield sim  # type: ignore[misc]
    sim.stop()


def make_context(tmp_path: Path, signer: KeySigner, url: str, n: int) -> CliContext:
    db, key = tmp_path / "outbox.sqlite3", tmp_path / "device.key"
    config = tmp_path / "kiosk.toml"
    ca = tmp_path / "ca.pem"  # the fixture's self-signed certificate is its own authority
    ca.write_bytes(signer.certificate.public_bytes(Encoding.PEM))
    config.write_text(
        f'[outbox]\ndatabase = "{db}"\ndevice_key = "{key}"\nfeed_sink_url = "{url}"\n'
        f'trusted_ca = "{ca}"\n[dmp]\nmax_tx_per_second = 5.0\n'
    )

    async def fill() -> None:
        store = await OutboxStore.open(db, FileDeviceKey.load_or_create(key), SystemClock())
        for i in range(n):
            await store.enqueue(
                kind="dmp.submit", idempotency_key=f"k{i}", payload=b"p", signer=signer
            )
        await store.close()

    asyncio.run(fill())
    return CliContext(config_path=config, lang="en")


def invoke(command: object, context: CliContext, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(command, list(args), obj=context)  # type: ignore[arg-type]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return json.loads(result.stdout)  # type: ignore[no-any-return]  # logs may go to stderr


def test_status_sync_once_and_purge(tmp_path: Path, signer: KeySigner, world: SimWorld) -> None:
    url = str(world.facts["feed_sink_url"])
    context = make_context(tmp_path, signer, url, 3)
    status = invoke(outbox, context, "status", "--json")
    assert status["counts"] == {"pending": 3, "in_flight": 0, "done": 0, "dead": 0}
    report = invoke(sync, context, "--once", "--json")
    assert report["sent"] == 3
    listed = invoke(outbox, context, "list", "--state", "done", "--json")
    assert [row["idempotency_key"] for row in listed] == ["k0", "k1", "k2"]  # type: ignore[index, union-attr]
    assert invoke(outbox, context, "purge", "--done", "--json") == {"purged": 3}


def test_retry_dead_letters(tmp_path: Path, signer: KeySigner) -> None:
    context = make_context(tmp_path, signer, "http://127.0.0.1:9", 2)
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        db.execute("UPDATE outbox SET state = 'dead', last_error = 'DMP_X'")
    dead = invoke(outbox, context, "list", "--state", "dead", "--json")
    assert len(dead) == 2  # type: ignore[arg-type]
    one = dead[0]["id"]  # type: ignore[index]
    assert invoke(outbox, context, "retry", str(one), "--json") == {"requeued": 1}
    assert invoke(outbox, context, "retry", "--dead", "--json") == {"requeued": 1}
    with pytest.raises(NotFound):
        invoke(outbox, context, "retry", "01900000-0000-7000-8000-000000000000", "--json")
