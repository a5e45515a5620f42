"""``kiosk demo``: start the simulated world, supervise it, stop everything on exit.

The desk TUI is not built yet, so the demo says exactly that, lists what runs and
how to drive it from another terminal with the CLI, and waits until interrupted.
It never pretends to do what does not exist.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import click

from kiosk.commands.context import CliContext
from kiosk.sim.world import SimWorld, default_components
from kiosk.wiring.world import sim_state_dir

__all__ = ["demo"]


class _Stop(Exception):
    """Raised from the signal handler to leave the supervision loop."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


@click.command()
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Stop by itself after this many seconds (for scripted checks).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the world keeps its sockets, tokens and logs (default: <data_dir>/sim).",
)
@click.pass_obj
def demo(obj: CliContext, duration: float | None, state_dir: Path | None) -> None:
    """Start the simulated world (readers, cards, tokens, services, printer) and supervise it."""
    settings = obj.settings
    world = SimWorld(
        state_dir=sim_state_dir(settings, state_dir),
        components=default_components(),
    )
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with world.running():
            _announce(world)
            _supervise(world, duration)
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("kiosk demo: every simulator stopped.")


def _announce(world: SimWorld) -> None:
    click.echo("kiosk demo — simulated world")
    click.echo(f"state directory: {world.state_dir}")
    lines = world.describe()
    if lines:
        click.echo("\n".join(lines))
    else:
        click.echo("No simulator is registered yet.")
    click.echo(
        "\nThe desk TUI is not built yet. From another terminal, drive the world with the CLI:\n"
        "  kiosk nir check 277076322082910\n"
        "  kiosk ins encode … -o ins.png --qualified   then   kiosk ins decode ins.png\n"
        "  kiosk --help   lists every command.\n"
        "Press Ctrl-C to stop everything."
    )


def _supervise(world: SimWorld, duration: float | None) -> None:
    deadline = None if duration is None else time.monotonic() + duration
    reported: set[int] = set()
    while deadline is None or time.monotonic() < deadline:
        for proc in world.dead_processes():
            if proc.pid not in reported:
                reported.add(proc.pid)
                click.echo(
                    f"kiosk demo: {proc.component} (pid {proc.pid}) exited with "
                    f"{proc.popen.returncode}; see {world.state_dir / 'log'}",
                    err=True,
                )
        time.sleep(0.5)
