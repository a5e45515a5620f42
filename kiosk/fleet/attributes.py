"""The controller attributes the kiosk pushes with ``configData``: facts, never a patient.

hawkBit's ``DdiConfigData.data`` is a map of strings ("controller attributes" that "allow
the server to identify the device on a hardware level"). We send the software version,
the booted slot, the last boots, the self-test's level per check (no detail text), the
outbox as two numbers and the hardware profile names. Values are cut to 128 characters,
the attribute length hawkBit stores.
"""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.domain.health import HealthReport
from kiosk.fleet.ports import OutboxDepth, UpdaterState

__all__ = ["BOOTS_SHOWN", "MAX_VALUE", "controller_attributes"]

MAX_VALUE = 128
BOOTS_SHOWN = 5
"""The most recent boots listed in ``boot.history``."""


def _boot_line(state: UpdaterState) -> str:
    lines = []
    for record in state.history[-BOOTS_SHOWN:]:
        reason = f" ({record.reason})" if record.reason else ""
        lines.append(f"{record.slot}:{record.version}:{record.outcome.value}{reason}")
    return "; ".join(lines)


def controller_attributes(
    state: UpdaterState,
    *,
    health: HealthReport | None = None,
    outbox: OutboxDepth | None = None,
    hardware: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``configData`` map of this kiosk now."""
    data = {
        "kiosk.version": state.version,
        "kiosk.slot": state.booted_slot,
        "boot.history": _boot_line(state),
    }
    if health is not None:
        data["selftest.level"] = health.level.value
        data["selftest.at"] = health.at.isoformat(timespec="seconds")
        data.update({f"selftest.{check.name}": check.level.value for check in health.checks})
    if outbox is not None:
        data["outbox.depth"] = str(int(outbox.depth))
        data["outbox.oldest_age_s"] = str(round(max(0.0, outbox.oldest_age_s)))
    data.update({f"hw.{kind}": name for kind, name in (hardware or {}).items()})
    return {key[:MAX_VALUE]: value[:MAX_VALUE] for key, value in data.items()}
