"""``kiosk demo``: start the simulated world, open the TUI on it, stop everything on exit.

The world (readers and cards, tokens, INSi/DMP behind a network that can be cut,
printer, scanner, feed sink) starts first; then the kiosk app opens in this
terminal on that world's services (:func:`kiosk.wiring.open_services` with its
state directory), in desk mode unless ``--mode self``; its record store holds the
demo's earlier desk visits (:mod:`kiosk.sim.visits`: patients an agent qualified
before, whom the self-service kiosk may then enrol alone). F12 opens the demo panel
(:mod:`kiosk.tui.demo_panel`), which drives the world exactly as ``kiosk sim …``
does from a second terminal. A simulator that dies while the app runs turns the
footer's ``world`` light down, naming it. Leaving the app (or ``--duration``
seconds, for scripted checks) stops every process the world started, by PID.

``--no-ui`` keeps the world alone: it lists what runs and how to drive it, reports
a simulator that exits, and waits until interrupted (CI, scripts, benches).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import click

from kiosk.commands.context import CliContext
from kiosk.sim.world import DEFAULT_PORT, ServicesComponent, SimWorld, default_components
from kiosk.wiring.world import sim_state_dir

__all__ = ["demo"]


class _Stop(Exception):
    """Raised from the signal handler to leave the supervision loop."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


@click.command()
@click.option(
    "--mode",
    type=click.Choice(["desk", "self"]),
    default="desk",
    show_default=True,
    help="The app's mode on the simulated world.",
)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Stop by itself after this many seconds (for scripted checks).",
)
@click.option(
    "--no-ui",
    "no_ui",
    is_flag=True,
    help="Only start and supervise the world (no app): for scripts and CI.",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the world keeps its sockets, tokens and logs (default: <data_dir>/sim).",
)
@click.option(
    "--services-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the simulated INSi/DMP origin; 0 picks a free one (two demos at once).",
)
@click.pass_obj
def demo(
    obj: CliContext,
    mode: str,
    duration: float | None,
    no_ui: bool,
    state_dir: Path | None,
    services_port: int,
) -> None:
    """Start the simulated world and open the kiosk app on it (F12: demo panel)."""
    settings = obj.settings
    components = default_components()
    for component in components:
        if isinstance(component, ServicesComponent):
            component.port = services_port
    world = SimWorld(state_dir=sim_state_dir(settings, state_dir), components=components)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with world.running():
            if no_ui:
                _announce(world)
                _supervise(world, duration)
            else:
                _open_app(obj, world, mode, duration)
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("kiosk demo: every simulator stopped.")


def _open_app(obj: CliContext, world: SimWorld, mode: str, duration: float | None) -> None:
    from kiosk.commands.tui_run import run_tui
    from kiosk.sim.control import SimControl
    from kiosk.sim.visits import seed_earlier_visits
    from kiosk.wiring.probes import world_probe
    from kiosk.wiring.world import world_facts

    settings = obj.settings

    def dead() -> list[str]:
        return [proc.component for proc in world.dead_processes()]

    control = SimControl(
        lambda: world_facts(settings, world.state_dir), world.state_dir / "cards" / "cards.sock"
    )
    run_tui(
        obj,
        settings,
        mode=mode,
        state_dir=world.state_dir,
        extra_probes=(world_probe(dead),),
        demo=control,
        duration=duration,
        prepare=lambda services: seed_earlier_visits(services.records, services.clock.now()),
    )


def _announce(world: SimWorld) -> None:
    click.echo("kiosk demo — simulated world")
    click.echo(f"state directory: {world.state_dir}")
    lines = world.describe()
    if lines:
        click.echo("\n".join(lines))
    else:
        click.echo("No simulator is registered yet.")
    click.echo(
        "\nNo app (--no-ui). From another terminal, drive the world with the CLI:\n"
        "  kiosk sim card insert cpe-agent   kiosk sim scan paul-martin\n"
        "  kiosk sim network cut insi        kiosk sim printer paper-out\n"
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
