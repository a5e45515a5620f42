"""How many card events the readers have seen, kept for IT's metrics (``kiosk_card_events``).

The app owns the card monitor, and the metrics endpoint is another process (``kiosk
sync``): :class:`TalliedMonitor` passes every event through unchanged and keeps a
running count per event and card kind in a small JSON file on the data partition,
replaced whole at each change (write then rename: a reader sees the old count or the
new, never half a file). The counts survive restarts, so they only grow, as
Prometheus counters must. Nothing personal: no reader name, ATR or card content.

A card already in a reader when the app starts is announced (``CardMonitor.events``
gives the present state first), so it counts once more: counts are events seen, not
patients.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from kiosk.cards.ports import (
    CardEvent,
    CardInserted,
    CardMonitor,
    CardRemoved,
    ReaderAdded,
    ReaderRemoved,
)

__all__ = ["TALLY_FILE", "CardTally", "TalliedMonitor", "event_key"]

log = logging.getLogger(__name__)

TALLY_FILE = Path("metrics") / "cards.json"
"""Under ``paths.data_dir``."""


def event_key(event: CardEvent) -> str:
    """``inserted.vitale|cps|unknown``, ``removed``, ``reader.added``, ``reader.removed``."""
    match event:
        case CardInserted(kind=kind):
            return f"inserted.{kind.value}"
        case CardRemoved():
            return "removed"
        case ReaderAdded():
            return "reader.added"
        case ReaderRemoved():
            return "reader.removed"


class CardTally:
    """Counts per :func:`event_key`, in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._counts = self.read(path)
        self._failing = False

    @staticmethod
    def read(path: Path) -> dict[str, int]:
        """The counts in ``path``; none for a missing or damaged file."""
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(found, dict):
            return {}
        return {
            str(k): v for k, v in found.items() if isinstance(v, int) and not isinstance(v, bool)
        }

    def count(self, event: CardEvent) -> None:
        """One more of ``event``'s kind. A file that cannot be written is logged, once."""
        key = event_key(event)
        self._counts[key] = self._counts.get(key, 0) + 1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staged = self.path.with_suffix(".tmp")
            staged.write_text(json.dumps(self._counts, sort_keys=True), encoding="utf-8")
            os.replace(staged, self.path)
        except OSError as exc:
            if not self._failing:  # a full disk must not fill the log as well
                log.warning("cards.tally_unwritten", extra={"detail": str(exc)})
            self._failing = True
        else:
            self._failing = False


class TalliedMonitor:
    """A :class:`CardMonitor` that counts what it passes on."""

    def __init__(self, inner: CardMonitor, tally: CardTally) -> None:
        self._inner = inner
        self._tally = tally

    async def events(self) -> AsyncIterator[CardEvent]:
        """The inner monitor's events, each counted before it is handed on."""
        async for event in self._inner.events():
            self._tally.count(event)
            yield event

    async def aclose(self) -> None:
        """Close the inner monitor."""
        await self._inner.aclose()
