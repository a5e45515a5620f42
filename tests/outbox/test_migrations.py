"""Schema migrations: every earlier version upgrades to the same schema, keeping its rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.clock import FrozenClock
from kiosk.errors import StorageError
from kiosk.outbox.file import aad_for, signed_bytes
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner, verify_signature
from kiosk.storage.sqlite import MIGRATIONS, SCHEMA_VERSION, connect, migrate


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


async def test_rows_of_version_3_keep_their_signers_through_the_lean_row(
    tmp_path: Path, signer: KeySigner, other_signer: KeySigner
) -> None:
    """Version 4 moves certificates out of the rows: each row still verifies with its own."""
    db = tmp_path / "v3.sqlite3"
    key = FileDeviceKey.load_or_create(tmp_path / "k")
    conn = connect(db)
    migrate(conn, target=3)
    signers = [signer, other_signer, signer]
    for n, who in enumerate(signers):
        row_id, idem = f"0190b2c4-0000-7000-8000-00000000000{n}", f"k-{n}"
        payload = f"document {n}".encode()
        conn.execute(
            "INSERT INTO outbox (id, idempotency_key, kind, created_at, next_attempt_at,"
            " key_id, payload, signature, signer_id, signer_cert) VALUES (?, ?, 'dmp.submit',"
            " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, ?, ?, ?, ?)",
            (
                row_id,
                idem,
                key.key_id,
                key.seal(payload, aad_for(row_id, "dmp.submit", idem)),
                who.sign(signed_bytes(row_id, "dmp.submit", idem, payload)),
                who.identity.national_id,
                who.certificate.public_bytes(Encoding.DER),
            ),
        )
    conn.close()

    clock = FrozenClock(datetime(2026, 1, 2, tzinfo=UTC))
    store = await OutboxStore.open(db, key, clock)
    try:
        leased = await store.lease("w", lease_s=60, include_bulk=True, limit=10)
        assert [row.idempotency_key for row in leased] == ["k-0", "k-1", "k-2"]
        for row, who in zip(leased, signers, strict=True):
            assert row.signer_cert == who.certificate.public_bytes(Encoding.DER)
            assert row.signature is not None
            assert verify_signature(
                who.certificate,
                signed_bytes(str(row.id), row.kind, row.idempotency_key, store.unseal(row)),
                row.signature,
            )
        # The next enqueue by a known signer reuses its certificate row.
        await store.enqueue(kind="dmp.submit", idempotency_key="k-3", payload=b"p", signer=signer)
    finally:
        await store.close()
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM signers").fetchone()[0] == 2
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
