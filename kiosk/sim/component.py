"""What a simulator of the world is: the contract each component implements.

A component receives a :class:`WorldHost` when it starts, never the world itself, so
no component imports :mod:`kiosk.sim.world` (which imports them all to compose them).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["SimComponent", "SpawnedProcess", "WorldHost"]


@dataclass
class SpawnedProcess:
    """A process started by the world, owned by a component."""

    component: str
    argv: Sequence[str]
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid


class WorldHost(Protocol):
    """What a starting component may use of the world: its directory, env, facts, spawn."""

    @property
    def state_dir(self) -> Path:
        """The world's state directory (sockets, logs, tokens, ``world.json``)."""
        ...

    @property
    def env(self) -> dict[str, str]:
        """Environment for clients of the world (e.g. ``PCSCLITE_CSOCK_NAME``)."""
        ...

    @property
    def facts(self) -> dict[str, object]:
        """What components publish for each other and for ``world.json`` (ports, paths)."""
        ...

    def spawn(
        self,
        component: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_name: str | None = None,
    ) -> SpawnedProcess:
        """Start a process the world will stop, in its own process group."""
        ...


class SimComponent(Protocol):
    """One simulator the world can start and stop."""

    name: str

    def start(self, world: WorldHost) -> None:
        """Start; may spawn processes (``world.spawn``) and publish facts (``world.facts``)."""
        ...

    def stop(self) -> None:
        """Stop what ``start`` started that the world does not track itself."""
        ...

    def describe(self) -> list[str]:
        """Lines telling what runs and how to drive it from the CLI."""
        ...
