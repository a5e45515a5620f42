"""When to download and when to install: the server's wishes against the desk's work.

From the DDI documentation: ``download``/``update`` are "'skip': do not download yet,
'attempt': server asks to download, 'forced': server requests immediate download", and
the maintenance window separates "download and installation … the device is informed to
download the software first and then when it enters a defined (maintenance) window the
installation triggers follows". Our rules on top, patients first:

* ``skip`` is obeyed: no download (``download = skip``) or no install (``update = skip``);
* an install never starts while an admission is in progress or the outbox is mid-send,
  ``forced`` included: it waits and starts at the first check-in after;
* ``attempt`` installs only inside the window when the action has one;
  ``forced`` does not wait for the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.fleet.ddi import Deployment, Handling

__all__ = ["Step", "Verdict", "decide"]


class Step(StrEnum):
    """What to do with an offered deployment at this check-in."""

    NOTHING = "nothing"
    """``download = skip``: not even fetch it yet."""
    DOWNLOAD = "download"
    """Fetch (or finish fetching) the bundle, then wait."""
    INSTALL = "install"
    """Fetch if needed, then install and reboot."""


@dataclass(frozen=True)
class Verdict:
    """The step and, when it is not an install, why (for the log and the feedback)."""

    step: Step
    waiting_for: str = ""
    """``update-skip``, ``maintenance-window``, or the updater's busy reason."""


def decide(deployment: Deployment, busy: str | None) -> Verdict:
    """The step for ``deployment`` while the kiosk is ``busy`` (None when idle)."""
    if deployment.download is Handling.SKIP:
        return Verdict(Step.NOTHING, "download-skip")
    if deployment.update is Handling.SKIP:
        return Verdict(Step.DOWNLOAD, "update-skip")
    if busy:
        return Verdict(Step.DOWNLOAD, busy)
    if deployment.update is Handling.ATTEMPT and deployment.maintenance_window == "unavailable":
        return Verdict(Step.DOWNLOAD, "maintenance-window")
    return Verdict(Step.INSTALL)
