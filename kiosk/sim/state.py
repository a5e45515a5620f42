"""``<state_dir>/world.json``: what a running world publishes for other commands.

The world writes it (PIDs, ports, sockets) so that ``kiosk sim …`` and ``kiosk cards …``
find the world from another process; readers import this module, not the world.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["STATE_FILE", "load_world_state", "write_world_state"]

STATE_FILE = "world.json"


def write_world_state(state_dir: Path, state: dict[str, object]) -> None:
    """Replace ``world.json`` atomically with ``state``."""
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(path)


def load_world_state(state_dir: Path) -> dict[str, object] | None:
    """The state a running world published, or None when no world runs there."""
    path = state_dir / STATE_FILE
    try:
        state: dict[str, object] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    pid = state.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return state
