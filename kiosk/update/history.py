"""What the kiosk remembers of its updates, on the data partition (survives every slot).

* ``pending.json``: the update installed and waiting for its trial boot (slot, version,
  when, and the fleet's action id when the fleet sent it), written atomically before
  the reboot and removed once the new slot is judged;
* ``boots.jsonl``: one line per judged boot: slot, version, outcome (``good``,
  ``bad``: its health check failed, ``fallback``: it never reached it, the watchdog or
  a power cut brought the old slot back) and the reason; read by ``kiosk update
  status`` and sent to the fleet.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["BootHistory", "BootRecord", "Pending"]


@dataclass(frozen=True)
class Pending:
    """An installed update waiting for its trial boot."""

    slot: str
    version: str
    since: str
    action_id: str = ""


@dataclass(frozen=True)
class BootRecord:
    """One judged boot of a new slot."""

    at: str
    slot: str
    version: str
    outcome: str
    reason: str = ""


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.new")
    with open(scratch, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)


@dataclass(frozen=True)
class BootHistory:
    """The update state directory (``<data_dir>/update``)."""

    root: Path

    @property
    def _pending(self) -> Path:
        return self.root / "pending.json"

    @property
    def _boots(self) -> Path:
        return self.root / "boots.jsonl"

    def pending(self) -> Pending | None:
        """The update waiting for its trial boot, if any (a torn file counts as none)."""
        try:
            data = json.loads(self._pending.read_text(encoding="utf-8"))
            return Pending(**data)
        except (OSError, ValueError, TypeError):
            return None

    def set_pending(self, pending: Pending) -> None:
        """Record the installed update, durably, before the reboot."""
        _replace(self._pending, json.dumps(asdict(pending), sort_keys=True) + "\n")

    def clear_pending(self) -> None:
        """The trial is judged."""
        self._pending.unlink(missing_ok=True)

    def record(self, record: BootRecord) -> None:
        """Append one judged boot (synced: it is the report the fleet reads)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self._boots, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(record), sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def records(self, limit: int = 20) -> list[BootRecord]:
        """The last ``limit`` judged boots, oldest first; a torn last line is skipped."""
        try:
            lines = self._boots.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found: list[BootRecord] = []
        for line in lines:
            try:
                found.append(BootRecord(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return found[-limit:]
