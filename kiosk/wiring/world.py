"""The simulated world as wiring sees it: its state directory, its facts, its device sockets.

``kiosk demo`` (and ``kiosk sim serve``) keep a world under ``<data_dir>/sim``; each
command may name another with ``--state-dir``. That choice is made here only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kiosk.config import Settings

__all__ = ["sim_state_dir", "use_world_devices", "world_facts", "world_state"]


def sim_state_dir(settings: Settings, override: Path | None = None) -> Path:
    """Where the simulated world lives: ``override`` (``--state-dir``), else ``<data_dir>/sim``."""
    return (override or settings.paths.data_dir / "sim").resolve()


def world_state(settings: Settings, override: Path | None = None) -> Mapping[str, object]:
    """What the running world wrote in its ``world.json`` (empty when none runs)."""
    from kiosk.sim.state import load_world_state

    return load_world_state(sim_state_dir(settings, override)) or {}


def world_facts(settings: Settings, override: Path | None = None) -> Mapping[str, object]:
    """What the running simulated world published (empty when none runs)."""
    facts = world_state(settings, override).get("facts")
    return facts if isinstance(facts, dict) else {}


def use_world_devices(
    settings: Settings, override: Path | None = None, *, keys: tuple[str, ...]
) -> None:
    """Take the running world's device sockets (``keys`` of its env) for this process.

    Only for adapters of kind ``sim``, and never over a variable already set: an
    explicit choice wins. PC/SC reads ``PCSCLITE_CSOCK_NAME`` at its first context,
    so this runs before ``kiosk.cards.pcsc`` is imported.
    """
    if settings.cards.kind != "sim":
        return
    env = world_state(settings, override).get("env")
    if isinstance(env, dict):
        for key in keys:
            if key in env and key not in os.environ:
                os.environ[key] = str(env[key])
