"""What every command receives: the configuration path, the language, and output helpers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kiosk.config import Settings

__all__ = ["CliContext", "TuiLauncher", "emit"]

TuiLauncher = Callable[..., Awaitable[None]]
"""Runs the kiosk app on a services bundle (``kiosk.tui.launch.run_app``)."""


@dataclass
class CliContext:
    """Per-invocation state shared by the commands."""

    config_path: Path | None
    lang: str = "fr"
    tui: TuiLauncher | None = None
    """The kiosk app's launcher, from ``kiosk.cli``: commands may not import the TUI."""
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings, loaded on first use (a bad file is a clean error)."""
        if self._settings is None:
            from kiosk.config import load_settings  # pydantic costs ~0.4 s; only when needed

            self._settings = load_settings(self.config_path)
        return self._settings


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print ``data`` as one JSON document with ``--json``, else the human ``text``."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, sort_keys=True))
    else:
        click.echo(text)
