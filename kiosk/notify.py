"""systemd's notify protocol, written directly: READY, the watchdog, the status line.

The kiosk unit is ``Type=notify`` with ``WatchdogSec=`` (``firmware_cfg/systemd/``).
The protocol is one datagram per message to the ``AF_UNIX`` socket named in
``$NOTIFY_SOCKET`` (a leading ``@`` is Linux's abstract namespace), as sd_notify(3)
documents: a dozen lines, so no library (``sdnotify`` would be a dependency for them).
Without ``$NOTIFY_SOCKET`` (a terminal, the tests, the demo) every call does nothing.
``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``, when set, naming this process) give the
period; the app feeds the watchdog at half of it, from its own event loop, and only
while its health check passes, so a hung loop or a dead card watcher is restarted.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier"]

log = logging.getLogger(__name__)


class Notifier:
    """Messages to systemd, if it listens."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + path[1:] if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None
        """The watchdog's period, or None: no watchdog for this process."""

    @property
    def enabled(self) -> bool:
        """Whether systemd listens (``$NOTIFY_SOCKET`` set)."""
        return bool(self._address)

    def send(self, **fields: str) -> bool:
        """One message (``READY="1"``, ``STATUS="…"``); False when nothing was sent."""
        if not self._address:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError as exc:  # systemd gone or the socket not ours: never fatal
            log.warning("notify failed", extra={"error": type(exc).__name__})
            return False
        return True

    def ready(self, status: str) -> bool:
        """The app shows its first screen: the unit is started."""
        return self.send(READY="1", STATUS=status)

    def watchdog(self) -> bool:
        """The app's loop is alive and healthy."""
        return self.send(WATCHDOG="1")

    def stopping(self) -> bool:
        """The app is leaving on purpose."""
        return self.send(STOPPING="1")
