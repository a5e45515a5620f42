"""``kiosk sim printer …``: drive the simulated printer of a running demo world."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import NotFound
from kiosk.locale import msg
from kiosk.sim.printer.control import CONTROL_COMMANDS, control
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
    found = world_facts(obj.settings, state_dir).get("printer")
    if not isinstance(found, dict):
        raise NotFound(
            msg("commands.sim_printer.printer"),
        )
    line = command if amount is None else f"{command} {amount}"
    reply = control(int(found["control_port"]), line)
    emit(as_json, reply, f"printer: {line} → jobs {reply['jobs']}, status {reply['status']}")
