"""Durable SQLite files below their users (outbox, audit chain, records); the aiosqlite importer."""

from __future__ import annotations

from kiosk.storage.sqlite import (
    MIGRATIONS,
    OUTBOX,
    SCHEMA_VERSION,
    Database,
    StorageName,
    configure,
    connect,
    iso,
    migrate,
    storage_error,
)

__all__ = [
    "MIGRATIONS",
    "OUTBOX",
    "SCHEMA_VERSION",
    "Database",
    "StorageName",
    "configure",
    "connect",
    "iso",
    "migrate",
    "storage_error",
]
