"""``kiosk audit verify|export`` on a real outbox file, tampered with by hand."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.clock import FrozenClock
from kiosk.commands.context import CliContext
from kiosk.commands.outbox import AuditChainBroken, audit
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore


@pytest.fixture
async def context(tmp_path: Path) -> CliContext:
    db, key = tmp_path / "outbox.sqlite3", tmp_path / "device.key"
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[outbox]\ndatabase = "{db}"\ndevice_key = "{key}"\n')
    clock = FrozenClock()
    store = await OutboxStore.open(db, FileDeviceKey.load_or_create(key), clock)
    for kind in (
        AuditKind.CARD_INSERTED,
        AuditKind.LOGIN,
        AuditKind.CONSENT_GIVEN,
        AuditKind.LOGOUT,
    ):
        clock.advance(1)
        await store.record(
            AuditEvent(clock.now(), kind, actor="3750100000/ACCUEIL01", subject="253072B07300470")
        )
    await store.close()
    return CliContext(config_path=config, lang="en")


def tamper(db: Path, *statements: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        for statement in statements:
            conn.execute(statement)


def run(context: CliContext, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(audit, list(args), obj=context)
    return result.exit_code, result.output, result.exception


def test_verify_says_ok_and_export_masks_the_nir(context: CliContext) -> None:
    code, out, _ = run(context, "verify", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    code, out, _ = run(context, "export")
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert "253072B07300470" not in out
    assert events[0]["subject"] == "2************70"


def test_the_table_refuses_updates_and_deletes(context: CliContext) -> None:
    assert context.config_path is not None
    db = context.config_path.parent / "outbox.sqlite3"
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")


@pytest.mark.parametrize(
    ("statements", "row", "word"),
    [
        (["UPDATE audit SET actor = 'quelqu''un' WHERE seq = 2"], 2, "edited"),
        (["DELETE FROM audit WHERE seq = 2"], 3, "deleted"),
        (["DELETE FROM audit WHERE seq = 4"], 4, "deleted at the end"),
        (
            [
                "UPDATE audit SET seq = 100 WHERE seq = 2",
                "UPDATE audit SET seq = 2 WHERE seq = 3",
                "UPDATE audit SET seq = 3 WHERE seq = 100",
            ],
            2,
            "",
        ),
    ],
    ids=["edited", "deleted", "truncated", "reordered"],
)
def test_verify_finds_tampering_and_says_where(
    context: CliContext, statements: list[str], row: int, word: str
) -> None:
    assert context.config_path is not None
    tamper(context.config_path.parent / "outbox.sqlite3", *statements)
    _code, out, exc = run(context, "verify", "--json")
    assert isinstance(exc, AuditChainBroken)
    report = json.loads(out)
    assert report["ok"] is False
    assert report["broken_at"] == row
    assert word in report["reason"]
    assert f"row {row}" in exc.message("en")
