"""The local identity records: where they live and how they open."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import Settings

if TYPE_CHECKING:
    from kiosk.records.store import RecordStore

__all__ = ["RECORDS_FILE", "open_records", "records_path"]

RECORDS_FILE = "identity.sqlite3"
"""The records file's name inside the configured data directory."""


def records_path(settings: Settings, override: Path | None = None) -> Path:
    """``override`` (``--db``), else ``<paths.data_dir>/identity.sqlite3``."""
    return override or settings.paths.data_dir / RECORDS_FILE


@contextlib.asynccontextmanager
async def open_records(settings: Settings, path: Path | None = None) -> AsyncIterator[RecordStore]:
    """The record store of ``settings`` (site environment decides the readable OIDs)."""
    from kiosk.domain.ins import InsEnvironment
    from kiosk.records.store import RecordStore

    store = await RecordStore.open(
        records_path(settings, path), InsEnvironment(settings.site.environment)
    )
    try:
        yield store
    finally:
        await store.close()
