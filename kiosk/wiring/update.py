"""The updater as the kiosk runs it: RAUC, the tryboot selector, the boot history, the health.

Paths: the update state under ``<paths.data_dir>/update`` (the data partition, which no
update or rollback touches), the selector partition at ``/boot/selector``
(``KIOSK_SELECTOR`` to move it), RAUC's ``/etc/rauc/system.conf`` (``KIOSK_RAUC_CONF``).
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.domain.health import HealthReport
from kiosk.services.activity import SERVING_LOCK, serving
from kiosk.update.history import BootHistory
from kiosk.update.rauc import Rauc
from kiosk.update.tryboot import Selector, booted_slot

__all__ = ["booted", "history", "rauc", "selector", "selftest_health", "why_busy"]


def history(settings: Settings) -> BootHistory:
    """The update state directory on the data partition."""
    return BootHistory(settings.paths.data_dir / "update")


def booted(cmdline: Path | None = None) -> str | None:
    """The slot running now, from the kernel command line's ``rauc.slot=``.

    ``KIOSK_CMDLINE`` names another file than ``/proc/cmdline`` (the tests' slots).
    """
    cmdline = cmdline or Path(os.environ.get("KIOSK_CMDLINE", "/proc/cmdline"))
    try:
        return booted_slot(cmdline.read_text())
    except OSError:
        return None


def selector(cmdline: Path | None = None) -> Selector:
    """The boot-selector partition as RAUC's custom backend sees it."""
    root = Path(os.environ.get("KIOSK_SELECTOR", "/boot/selector"))
    return Selector(root, booted(cmdline))


def rauc() -> Rauc:
    """RAUC with the kiosk's ``system.conf`` (``KIOSK_RAUC_CONF``, else RAUC's default)."""
    conf = os.environ.get("KIOSK_RAUC_CONF")
    return Rauc(Path(conf) if conf else None)


def why_busy(settings: Settings, clock: Clock) -> str | None:
    """Why an update must wait now: a patient is served, or a DMP write is mid-send."""
    from kiosk.outbox.lease import sending_now

    if serving(settings.paths.data_dir / SERVING_LOCK):
        return "admission"
    if sending_now(settings.outbox.database, clock.now()):
        return "outbox-sending"
    return None


async def selftest_health(settings: Settings, clock: Clock) -> HealthReport:
    """The self-test's report, for the trial's verdict."""
    from kiosk.wiring.selftest import run_selftest

    return await run_selftest(settings, lang="en", clock=clock)
