"""One PC/SC socket path per test process, pointed at whichever pcscd the test runs.

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, at its first context, and
connects to that path at every new context. So each worker exports one path, a
symbolic link, and each fixture that starts a pcscd (the card tests' daemon, a
simulated world's) points the link at its daemon's socket before its test runs.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["point_pcsc_at"]


def point_pcsc_at(socket: str | Path, base: Path) -> Path:
    """Make this process's PC/SC clients reach ``socket``; returns the link they use."""
    folder = base / "pcsc-link"
    folder.mkdir(exist_ok=True)
    link, fresh = folder / "pcscd.comm", folder / "pcscd.comm.new"
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(Path(socket))
    fresh.replace(link)  # atomic: a client never finds the path missing
    os.environ["PCSCLITE_CSOCK_NAME"] = str(link)
    return link
