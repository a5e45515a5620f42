"""Updates from a USB stick, for a site with no network on the kiosk's VLAN.

IT copies ``kiosk-<version>.raucb`` to the top folder of a stick and plugs it in; udev
starts ``kiosk-usb-update@<device>.service``, which mounts the stick read-only (no
exec, no devices, no setuid) in a private directory and runs ``kiosk update from-usb``:
the newest bundle whose signature and compatible RAUC accepts is installed, the stick
is released, and the kiosk boots the new slot once (then judged as any update). A
bundle no newer than what runs is left alone, so a stick left in does not loop.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["BUNDLE_NAME", "bundles_on", "newer"]

BUNDLE_NAME = re.compile(r"^kiosk-(?P<version>[0-9][0-9A-Za-z.+~-]*)\.raucb$")


def _key(version: str) -> tuple[tuple[int, str], ...]:
    """A version's sort key: numeric parts as numbers (0.10 after 0.9)."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.+~-]", version)
    )


def newer(candidate: str, running: str) -> bool:
    """Whether ``candidate`` is a later version than ``running``."""
    return _key(candidate) > _key(running)


def bundles_on(root: Path) -> list[tuple[str, Path]]:
    """The stick's bundles (top folder only), newest first, by their file names."""
    found = [
        (match.group("version"), path)
        for path in root.iterdir()
        if path.is_file() and (match := BUNDLE_NAME.match(path.name))
    ]
    return sorted(found, key=lambda item: _key(item[0]), reverse=True)
