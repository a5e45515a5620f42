"""``kiosk sim printer …``: drive the simulated printer of a running demo world."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.sim.control import printer_command
from kiosk.sim.printer.control import CONTROL_COMMANDS
from kiosk.wiring.world import world_facts

__all__ = ["printer"]


@click.command()
@click.argument("command", type=click.Choice(CONTROL_COMMANDS))
@click.argument("amount", type=click.IntRange(min=0), required=False)
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def printer(
    obj: CliContext, command: str, amount: int | None, state_dir: Path | None, as_json: bool
) -> None:
    """Make the simulated printer run out of paper, open its cover, drop a job, or refill."""
    line = command if amount is None else f"{command} {amount}"
    reply = printer_command(world_facts(obj.settings, state_dir), line)
    emit(as_json, reply, f"printer: {line} → jobs {reply['jobs']}, status {reply['status']}")
