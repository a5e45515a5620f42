"""Whether a patient is being served now, told to other processes of the kiosk.

The updater (``kiosk update install``, the fleet client) must never start while an
admission is open at the desk or a visit at the self-service kiosk (issue 20). The app
holds an advisory ``flock`` on ``<data_dir>/run/serving.lock`` while it serves someone;
any process tests it without waiting (:func:`serving`). The kernel drops the lock when
the app exits, crashed or not, so a dead app never blocks an update. The file names
no one: it is empty.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.services.admission import Admission

__all__ = ["SERVING_LOCK", "Activity", "Serving", "serving"]

SERVING_LOCK = Path("run") / "serving.lock"
"""Under ``paths.data_dir``."""


class Activity:
    """The app's side: ``set(True)`` while a patient is served, ``set(False)`` after."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None

    def set(self, busy: bool) -> None:
        """Take or release the lock; idempotent, and silent when there is no path."""
        if self.path is None:
            return
        if busy and self._fd is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # another app instance serves: its lock says so already
                return
            self._fd = fd
        elif not busy and self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class Serving:
    """A front that serves one patient at a time (the desk, the self-service kiosk).

    Its :attr:`admission` is the patient served now; setting it takes or releases the
    :class:`Activity` lock, so the updater sees it from another process.
    """

    def __init__(self, activity: Activity | None) -> None:
        self._activity = activity or Activity(None)
        self._admission: Admission | None = None

    @property
    def admission(self) -> Admission | None:
        """The patient being served, if any; other processes see it (``serving.lock``)."""
        return self._admission

    @admission.setter
    def admission(self, value: Admission | None) -> None:
        self._admission = value
        self._activity.set(value is not None)


def serving(path: Path) -> bool:
    """Whether some process of this kiosk serves a patient now (never waits)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
