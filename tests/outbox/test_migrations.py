"""Schema migrations: every earlier version upgrades to the same schema, keeping its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.clock import FrozenClock
from kiosk.errors import StorageError
from kiosk.outbox.database import MIGRATIONS, SCHEMA_VERSION, connect, migrate
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore


def schema(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(
            (name, " ".join(sql.split()))
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            )
        )


def columns(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(outbox)")]


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
async def test_upgrade_from_every_earlier_version(tmp_path: Path, version: int) -> None:
    fresh = tmp_path / "fresh.sqlite3"
    migrate(connect(fresh))
    old = tmp_path / "old.sqlite3"
    conn = connect(old)
    migrate(conn, target=version)
    if version >= 1:  # a row written by that version's software
        conn.execute(
            "INSERT INTO outbox (id, idempotency_key, kind, created_at, next_attempt_at,"
            " key_id, payload, signer_id) VALUES ('id-1', 'k-1', 'dmp.submit',"
            " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'kid', x'00', 's')"
        )
    conn.close()
    store = await OutboxStore.open(old, FileDeviceKey.load_or_create(tmp_path / "k"), FrozenClock())
    status = await store.status()
    await store.close()
    assert schema(old) == schema(fresh)
    assert columns(old) == columns(fresh)
    assert status.counts["pending"] == (1 if version >= 1 else 0)
    with sqlite3.connect(old) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    db = tmp_path / "future.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this software"):
        migrate(connect(db))
