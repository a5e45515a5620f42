"""The feed sink process and its sender: dedup, rate limit, and each fault mapped right."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kiosk.outbox.ports import OutboxItem, PermanentSendError, TransientSendError
from kiosk.sim.feed.client import FeedSinkControl, FeedSinkSender
from kiosk.sim.feed.sink import FeedSinkProcess


def item(key: str) -> OutboxItem:
    return OutboxItem(
        id=uuid.uuid4(),
        idempotency_key=key,
        kind="dmp.submit",
        payload=b"<doc/>",
        signature=b"s",
        signer_id="3750100000/ACC",
        attempt=1,
    )


@pytest.fixture
async def client(
    feed_sink: FeedSinkProcess,
) -> AsyncIterator[tuple[FeedSinkSender, FeedSinkControl]]:
    async with httpx.AsyncClient(timeout=10) as http:
        control = FeedSinkControl(http, feed_sink.url)
        await control.clear()
        await control.set_rate(1000)
        # Each test uses its own software id, so rate buckets never mix.
        sender = FeedSinkSender(
            http, feed_sink.url, establishment="3750100000", software=uuid.uuid4().hex
        )
        yield sender, control


async def test_a_resend_is_a_duplicate_not_a_second_item(
    client: tuple[FeedSinkSender, FeedSinkControl],
) -> None:
    sender, control = client
    first = await sender.send(item("dedup-1"))
    again = await sender.send(item("dedup-1"))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert first.remote_id == again.remote_id
    assert [i["deliveries"] for i in await control.items() if i["key"] == "dedup-1"] == [2]


async def test_faults_are_mapped(client: tuple[FeedSinkSender, FeedSinkControl]) -> None:
    sender, control = client
    await control.inject("5xx", code="DMP_BUSY")
    with pytest.raises(TransientSendError) as transient:
        await sender.send(item("f-1"))
    assert (transient.value.fault_code, transient.value.answered) == ("DMP_BUSY", True)
    await control.inject("permanent", code="DMP_INS_INCONNU")
    with pytest.raises(PermanentSendError) as permanent:
        await sender.send(item("f-2"))
    assert permanent.value.fault_code == "DMP_INS_INCONNU"
    await control.inject("lost")
    with pytest.raises(TransientSendError) as lost:
        await sender.send(item("f-3"))
    assert lost.value.answered is False
    assert (await sender.send(item("f-3"))).duplicate  # it had been committed


async def test_the_rate_limit_answers_with_the_service_fault(
    client: tuple[FeedSinkSender, FeedSinkControl],
) -> None:
    sender, control = client
    await control.set_rate(2)
    outcomes = []
    for n in range(4):
        try:
            await sender.send(item(f"r-{n}"))
            outcomes.append("ok")
        except TransientSendError as exc:
            outcomes.append(f"{exc.fault_code} retry_after={exc.retry_after_s is not None}")
    assert outcomes[:2] == ["ok", "ok"]
    assert "RATE_LIMIT retry_after=True" in outcomes[2:]


async def test_an_unreachable_sink_is_not_an_answer(tmp_path: Path) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        sender = FeedSinkSender(http, "http://127.0.0.1:9", establishment="e", software="s")
        with pytest.raises(TransientSendError) as exc:
            await sender.send(item("x"))
    assert exc.value.answered is False
