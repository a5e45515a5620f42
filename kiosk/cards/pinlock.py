"""Simulator only: the 3-try PIN lock of a CPS/CPE card, which SoftHSM2 does not have.

A CPS card allows 3 wrong PINs, then blocks (DOMAIN.md §5); the card reports it
through the PKCS#11 token flags ``CKF_USER_PIN_COUNT_LOW``, ``CKF_USER_PIN_FINAL_TRY``
and ``CKF_USER_PIN_LOCKED`` and the return codes ``CKR_PIN_INCORRECT`` /
``CKR_PIN_LOCKED``. SoftHSM2 accepts any number of wrong PINs. So that the product's
handling of every flag and code runs against the simulator, the PKCS#11 adapter
(``kiosk/cards/pkcs11/``) takes an optional :class:`SimulatedPinLock`: it counts wrong
PINs per token label in a small file, so the lock survives processes as a card's
does, replaces the token's three PIN flags with the ones a card would show, and
refuses a login on a locked token with ``CKR_PIN_LOCKED``. It is wired only when the
cards adapter is ``sim``; a real card needs nothing of it.

The flags are those of ``kiosk/cards/pin.py`` (PKCS#11 v2.40 §3.2).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kiosk.cards.pin import CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED

__all__ = ["PinCounter", "SimulatedPinLock"]


@dataclass(frozen=True)
class PinCounter:
    """What the simulated card remembers: wrong PINs since the last success, logins tried."""

    failures: int = 0
    attempts: int = 0
    """Every C_Login that reached the token; lets tests prove a locked card is never tried."""


class SimulatedPinLock:
    """The 3-try lock of a CPS card, added in front of a SoftHSM2 token (simulator only)."""

    def __init__(self, state_dir: Path, *, max_tries: int = 3, report_flags: bool = True) -> None:
        self.state_dir = state_dir
        self.max_tries = max_tries
        self.report_flags = report_flags
        """False plays a middleware that shows no PIN flags: only the return codes tell."""

    def counter(self, label: str) -> PinCounter:
        """The counter of the token labelled ``label``."""
        with self._open(label) as fh:
            return _read(fh)

    def flags(self, label: str) -> int:
        """The user-PIN flags a card in this state reports."""
        failures = self.counter(label).failures
        if not self.report_flags:
            return 0
        if failures >= self.max_tries:
            return CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW
        flags = CKF_USER_PIN_COUNT_LOW if failures else 0
        if failures == self.max_tries - 1:
            flags |= CKF_USER_PIN_FINAL_TRY
        return flags

    def is_locked(self, label: str) -> bool:
        """Whether the card would refuse every PIN (``CKR_PIN_LOCKED``)."""
        return self.counter(label).failures >= self.max_tries

    def record_attempt(self, label: str, *, accepted: bool) -> PinCounter:
        """Count one C_Login: a success resets the failures, a wrong PIN adds one."""
        with self._open(label) as fh:
            current = _read(fh)
            updated = PinCounter(
                failures=0 if accepted else min(current.failures + 1, self.max_tries),
                attempts=current.attempts + 1,
            )
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"failures": updated.failures, "attempts": updated.attempts}))
            fh.flush()
            os.fsync(fh.fileno())
            return updated

    def unblock(self, label: str) -> None:
        """What the issuer's unblocking code does to a card: the counter starts again."""
        with self._open(label) as fh:
            fh.seek(0)
            fh.truncate()

    @contextlib.contextmanager
    def _open(self, label: str) -> Iterator[TextIO]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_-]", "_", label.strip()) or "_"
        path = self.state_dir / f"{name}.json"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+") as fh:
            # Several processes (the kiosk, `kiosk cards login`) share one card.
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _read(fh: TextIO) -> PinCounter:
    fh.seek(0)
    text = fh.read().strip()
    if not text:
        return PinCounter()
    data = json.loads(text)
    return PinCounter(failures=int(data.get("failures", 0)), attempts=int(data.get("attempts", 0)))
