"""RAUC's custom bootloader backend over the Raspberry Pi firmware's tryboot A/B.

RAUC has no native Pi backend (ARCHITECTURE.md §10), so ``bootloader=custom`` calls
``kiosk update tryboot get-primary | set-primary SLOT | get-state SLOT | set-state
SLOT good|bad``. The firmware reads ``autoboot.txt`` on the first FAT partition::

    [all]
    tryboot_a_b=1
    boot_partition=2        # the slot that boots: the committed one
    [tryboot]
    boot_partition=3        # the slot a `reboot "0 tryboot"` boots, once

The mapping to RAUC's protocol keeps a fallback at every step:

* ``set-primary B`` (after RAUC wrote slot B) only points ``[tryboot]`` at B: the
  committed slot stays A, so the one trial boot (``reboot "0 tryboot"``) that hangs is
  reset by the hardware watchdog into A, the firmware never trying B again by itself;
* ``set-state B good`` on the booted trial slot commits it: ``[all]`` becomes B and
  ``[tryboot]`` points at A, the previous good one;
* ``set-state B bad`` marks it and leaves ``[all]`` on the other slot;
* ``get-primary`` is the committed slot, ``get-state`` the recorded state (``good``
  until RAUC says otherwise).

States live beside ``autoboot.txt`` (``kiosk-slots.json``), so the selector partition
holds the whole boot decision. Each file is written to a scratch name, synced and
renamed over the old one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import InvalidInput
from kiosk.locale import msg

__all__ = [
    "AUTOBOOT",
    "PARTITIONS",
    "STATES",
    "Autoboot",
    "Selector",
]

AUTOBOOT = "autoboot.txt"
STATES = "kiosk-slots.json"
PARTITIONS: Mapping[str, int] = {"A": 2, "B": 3}
"""RAUC bootname → the slot's boot partition (image/genimage.cfg.in)."""

_BOOT_PARTITION = re.compile(r"^\s*boot_partition\s*=\s*(\d+)\s*$")


@dataclass(frozen=True)
class Autoboot:
    """``autoboot.txt``: the committed partition and the one-time tryboot partition."""

    primary: int
    tryboot: int
    lines: tuple[str, ...] = ()
    """The file as read, so unknown lines (comments, other filters) are kept."""

    @classmethod
    def parse(cls, text: str) -> Autoboot:
        """Read the ``boot_partition`` of ``[all]`` and ``[tryboot]``; both must be there."""
        section = ""
        found: dict[str, int] = {}
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped[1:-1].strip()
                continue
            match = _BOOT_PARTITION.match(line)
            if match and section in ("all", "tryboot"):
                found[section] = int(match.group(1))
        if "all" not in found or "tryboot" not in found:
            raise InvalidInput(msg("update.tryboot.autoboot_invalid"))
        return cls(found["all"], found["tryboot"], tuple(text.splitlines()))

    def render(self) -> str:
        """The file with the two partitions replaced, every other line as it was."""
        out: list[str] = []
        section = ""
        seen: set[str] = set()
        for line in self.lines:
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped[1:-1].strip()
            elif _BOOT_PARTITION.match(line) and section in ("all", "tryboot"):
                value = self.primary if section == "all" else self.tryboot
                line = f"boot_partition={value}"
                seen.add(section)
            out.append(line)
        if seen != {"all", "tryboot"}:  # not parsed from a file: the whole default layout
            out = [
                "[all]",
                "tryboot_a_b=1",
                f"boot_partition={self.primary}",
                "[tryboot]",
                f"boot_partition={self.tryboot}",
            ]
        return "\n".join(out) + "\n"


def _slot_of(partition: int) -> str:
    for name, number in PARTITIONS.items():
        if number == partition:
            return name
    raise InvalidInput(msg("update.tryboot.unknown_partition", partition=partition))


def _partition_of(slot: str) -> int:
    if slot not in PARTITIONS:
        raise InvalidInput(msg("update.tryboot.unknown_slot", slot=slot, known="A, B"))
    return PARTITIONS[slot]


def _other(slot: str) -> str:
    return next(name for name in PARTITIONS if name != slot)


def _replace(path: Path, text: str) -> None:
    scratch = path.with_name(f".{path.name}.new")
    with open(scratch, "w", encoding="ascii") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Selector:
    """The boot-selector partition (``KIOSKSEL``, ``/boot/selector``) as RAUC's backend."""

    root: Path
    booted: str | None = None
    """The slot running now (``rauc.slot=`` of the kernel command line); None: unknown."""

    def autoboot(self) -> Autoboot:
        """The current ``autoboot.txt``."""
        try:
            return Autoboot.parse((self.root / AUTOBOOT).read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(msg("update.tryboot.unreadable", path=self.root / AUTOBOOT)) from exc

    def states(self) -> dict[str, str]:
        """Each slot's recorded state; ``good`` when never set."""
        try:
            found = json.loads((self.root / STATES).read_text(encoding="utf-8"))
        except FileNotFoundError:
            found = {}
        except (OSError, ValueError):
            found = {}
        return {slot: str(found.get(slot, "good")) for slot in PARTITIONS}

    def _write(
        self, autoboot: Autoboot | None = None, states: Mapping[str, str] | None = None
    ) -> None:
        if states is not None:
            _replace(self.root / STATES, json.dumps(dict(states), sort_keys=True) + "\n")
        if autoboot is not None:
            _replace(self.root / AUTOBOOT, autoboot.render())

    def get_primary(self) -> str:
        """The committed slot: what boots without the tryboot flag."""
        return _slot_of(self.autoboot().primary)

    def get_state(self, slot: str) -> str:
        """``good`` or ``bad``."""
        _partition_of(slot)
        return self.states()[slot]

    def set_primary(self, slot: str) -> None:
        """Make ``slot`` the next tryboot (committed only by ``set_state(slot, "good")``).

        Already the committed slot: nothing to try, ``[tryboot]`` points at the other.
        """
        current = self.autoboot()
        partition = _partition_of(slot)
        if current.primary == partition:
            wanted = Autoboot(partition, _partition_of(_other(slot)), current.lines)
        else:
            wanted = Autoboot(current.primary, partition, current.lines)
        self._write(autoboot=wanted)

    def set_state(self, slot: str, state: str) -> None:
        """Record ``state``; a good trial slot that is running now becomes the committed one."""
        if state not in ("good", "bad"):
            raise InvalidInput(msg("update.tryboot.unknown_state", state=state))
        partition = _partition_of(slot)
        states = {**self.states(), slot: state}
        current = self.autoboot()
        wanted: Autoboot | None = None
        if state == "good" and current.primary != partition and self.booted == slot:
            wanted = Autoboot(partition, current.primary, current.lines)
        elif state == "bad" and current.tryboot == partition:
            wanted = Autoboot(current.primary, current.primary, current.lines)
        self._write(autoboot=wanted, states=states)

    def run(self, args: list[str]) -> str:
        """One call of RAUC's custom backend protocol; what to print on stdout."""
        if args == ["get-primary"]:
            return self.get_primary()
        if len(args) == 2 and args[0] == "get-state":
            return self.get_state(args[1])
        if len(args) == 2 and args[0] == "set-primary":
            self.set_primary(args[1])
            return ""
        if len(args) == 3 and args[0] == "set-state":
            self.set_state(args[1], args[2])
            return ""
        raise InvalidInput(msg("update.tryboot.usage", args=" ".join(args)))


def booted_slot(cmdline: str) -> str | None:
    """The ``rauc.slot=`` of a kernel command line."""
    for word in cmdline.split():
        if word.startswith("rauc.slot="):
            return word.partition("=")[2] or None
    return None
