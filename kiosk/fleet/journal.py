"""Which action is in flight across the reboot: a small JSON file on the data partition.

Written to a scratch name, synced, renamed over the old file and the directory synced,
so a power cut leaves the old record or the new one, never half of either. A file that
does not parse is treated as absent (and logged): the server still holds the action
open, and the next poll offers it again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

__all__ = ["InFlight", "Journal", "Stage", "write_json_atomically"]

_log = logging.getLogger(__name__)


class Stage(StrEnum):
    """Where an action was when the record was written."""

    INSTALLING = "installing"
    """The updater was writing the other slot: a record found at start-up means it died."""
    REBOOTING = "rebooting"
    """Installed, reboot asked: at start-up, the boot history tells how it ended."""


@dataclass(frozen=True)
class InFlight:
    """The action the kiosk is carrying out."""

    action_id: int
    version: str
    """The version the deployment brings."""
    from_version: str
    from_slot: str
    stage: Stage
    started_at: str
    """When the install began (ISO 8601): boots recorded before it are not this action's."""


def write_json_atomically(path: Path, document: object, *, durable: bool = True) -> None:
    """Replace ``path`` by ``document`` (mode 0600) so that readers see old or new, whole.

    ``durable`` syncs the file and its directory: for the journal, which must survive a
    power cut; a status file written at every check-in skips it (and spares the SD card).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, sort_keys=True)
        out.flush()
        if durable:
            os.fsync(out.fileno())
    os.replace(scratch, path)
    if not durable:
        return
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class Journal:
    """The in-flight record at ``path`` (``<data_dir>/fleet/action.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> InFlight | None:
        """The record, or None when there is none (or it cannot be read)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return InFlight(
                action_id=int(data["action_id"]),
                version=str(data["version"]),
                from_version=str(data["from_version"]),
                from_slot=str(data["from_slot"]),
                stage=Stage(data["stage"]),
                started_at=str(data["started_at"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            _log.warning("fleet: unreadable action record %s, ignored", self.path)
            return None

    def write(self, record: InFlight) -> None:
        """Record ``record`` atomically."""
        write_json_atomically(self.path, asdict(record))

    def clear(self) -> None:
        """Forget the action (done, failed or cancelled)."""
        self.path.unlink(missing_ok=True)
