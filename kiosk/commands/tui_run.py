"""Opening the TUI from a command (``kiosk run``, ``kiosk demo``): services, logs, the app.

Everything that can fail before the app opens (the settings, a device, a service's
keys) fails inside :func:`open_services`, before the terminal is taken: the CLI's
usual line and exit code. While the app holds the terminal, log records go to
``<paths.log_dir>/kiosk.log`` only: a handler on the real stderr would draw over the
screen. The app itself comes from ``CliContext.tui`` (``kiosk.tui.launch.run_app``,
handed down by ``kiosk.cli``): commands and the TUI are sibling layers.

Textual draws on the process's stderr. On the appliance stderr is the journal and
the terminal is stdout (``kiosk.service``: ``StandardOutput=tty``,
``StandardError=journal``), so while the app runs :func:`screen_on_terminal` points
stderr at the terminal, then hands the journal back for the lines after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kiosk.commands.context import CliContext

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.wiring import Services
    from kiosk.wiring.probes import Probe

__all__ = ["LOG_FILE", "MODE_OPTION", "logs_to_file", "mode_of", "run_tui", "screen_on_terminal"]

LOG_FILE = "kiosk.log"

MODE_OPTION = click.option(
    "--mode",
    type=click.Choice(["desk", "self"]),
    default=None,
    help="Desk (agents) or self-service (patients); default: the site file's mode.",
)


def mode_of(settings: Settings, chosen: str | None) -> str:
    """The app's mode: ``--mode``, else the site file's ``mode`` (``selfservice`` is ``self``)."""
    if chosen is not None:
        return chosen
    return "self" if settings.mode == "selfservice" else "desk"


@contextlib.contextmanager
def logs_to_file(settings: Settings) -> Iterator[Path]:
    """Send every log record to ``<log_dir>/kiosk.log`` for the block, then restore stderr."""
    from kiosk.observability import RedactingFilter, StructuredFormatter

    log_dir = settings.paths.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    stream = os.fdopen(fd, "a", encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(StructuredFormatter(journald=False))
    root = logging.getLogger()
    previous = list(root.handlers)
    for old in previous:
        root.removeHandler(old)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        stream.close()  # a StreamHandler leaves its stream open
        for old in previous:
            root.addHandler(old)


@contextlib.contextmanager
def screen_on_terminal() -> Iterator[None]:
    """While the block runs, stderr (where Textual draws) is the terminal stdout is on.

    Nothing changes when stderr is a terminal already, or when stdout is not one (a pipe:
    the app then runs headless where it would have anyway).
    """
    if os.isatty(2) or not os.isatty(1):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(1, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def run_tui(
    obj: CliContext,
    settings: Settings,
    *,
    mode: str,
    state_dir: Path | None = None,
    extra_probes: Sequence[Probe] = (),
    demo: object = None,
    duration: float | None = None,
    prepare: Callable[[Services], Awaitable[object]] | None = None,
) -> None:
    """Open the services, run the app in this terminal until it exits (or ``duration`` ends).

    ``demo`` is the demo panel's ``DemoControl`` (``kiosk.sim.control.SimControl``);
    ``prepare`` runs on the opened services before the app (the demo's earlier visits).
    """
    if obj.tui is None:
        raise RuntimeError("no TUI launcher: kiosk.cli hands one to every command")
    launch = obj.tui

    async def run() -> None:
        from kiosk.wiring.services import open_services

        async with open_services(
            settings, state_dir=state_dir, extra_probes=extra_probes
        ) as services:
            if prepare is not None:
                await prepare(services)
            await launch(services, mode=mode, lang=obj.lang, demo=demo, duration=duration)

    with logs_to_file(settings), screen_on_terminal():
        asyncio.run(run())
