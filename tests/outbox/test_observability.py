"""Logs never carry a full NIR, a PIN or a password; the gauges follow the outbox."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest

from kiosk.metrics import OutboxMetrics
from kiosk.observability import configure_logging
from kiosk.outbox.admin import OutboxStatus


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    configure_logging(logging.DEBUG, stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


def test_secrets_and_nirs_never_reach_the_log(captured: io.StringIO) -> None:
    log = logging.getLogger("kiosk.test")
    log.info("login pin=1234 for %s", "253072B07300470")
    log.warning("identity", extra={"nir": "277076322082910", "password": "hunter2", "step": 3})
    try:
        raise ValueError("bad NIR 253072A07300443")
    except ValueError:
        log.exception("parse failed")
    # Only this logger's lines: at DEBUG the root also hears threads other tests left
    # behind (a database thread's statement may hold any digits).
    text = "\n".join(line for line in captured.getvalue().splitlines() if "kiosk.test" in line)
    assert len(text.splitlines()) == 3, captured.getvalue()
    for secret in ("1234", "253072B07300470", "277076322082910", "hunter2", "253072A07300443"):
        assert secret not in text
    assert "pin=[redacted]" in text
    assert "password=[redacted]" in text
    assert "nir=2************10" in text
    assert "step=3" in text
    assert all(line.startswith(("info", "warning", "error")) for line in text.splitlines())


def test_journald_priority_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers)
    handler = configure_logging(logging.INFO, stream)
    try:
        logging.getLogger("kiosk.x").error("outbox.storage")
    finally:
        root.removeHandler(handler)
        for h in saved:
            root.addHandler(h)
    assert stream.getvalue().startswith("<3>error kiosk.x: outbox.storage")


def test_gauges() -> None:
    metrics = OutboxMetrics()
    metrics.update(OutboxStatus({"pending": 4, "in_flight": 1, "done": 9, "dead": 2}, 3600.0, None))
    text = generate_latest(metrics.registry).decode()
    assert 'kiosk_outbox_items{state="pending"} 4.0' in text
    assert 'kiosk_outbox_items{state="dead"} 2.0' in text
    assert "kiosk_outbox_oldest_pending_age_seconds 3600.0" in text
