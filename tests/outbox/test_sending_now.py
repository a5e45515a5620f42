"""What the updater reads of the outbox: a DMP write mid-send, and the backlog's figures.

Issue 20: "An update never starts while an admission is in progress or the outbox is
mid-send"; configData carries "outbox depth and oldest age".
"""

from __future__ import annotations

from pathlib import Path

from kiosk.clock import FrozenClock
from kiosk.outbox.lease import backlog, sending_now
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner


async def test_a_row_in_flight_holds_an_update_until_its_lease_ends(
    store: OutboxStore, signer: KeySigner, clock: FrozenClock, tmp_path: Path
) -> None:
    path = store.path
    assert sending_now(path, clock.now()) == 0
    assert sending_now(tmp_path / "none.sqlite3", clock.now()) == 0, "no outbox yet: nothing"
    for n in range(2):
        await store.enqueue(
            kind="dmp.create", idempotency_key=f"k{n}", payload=b"{}", signer=signer
        )
    clock.advance(180)
    assert backlog(path, clock.now()) == (2, 180.0)

    (leased,) = await store.lease("w", lease_s=30, include_bulk=True, limit=1)
    assert sending_now(path, clock.now()) == 1, "the worker is sending"
    clock.advance(31)
    assert sending_now(path, clock.now()) == 0, "a lapsed lease is a dead worker, not a send"

    await store.mark_done(leased, remote_id="R1", duplicate=False)
    assert backlog(path, clock.now())[0] == 1
