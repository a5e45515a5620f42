"""``kiosk fleet status|poll-once [--json]|run``: the fleet check-in, seen, tried, run.

``status`` reads what the check-in left on the data partition (the last check-in, the
action in flight across a reboot) without calling the server. ``poll-once`` checks in
once (poll, controller attributes, a look at an offered deployment) without acting on
an offer: installs are the long-running service's. With ``fleet.kind = "sim"`` it checks
in with an in-process simulated server. Exit code 0 when the server answered, 3 when not.
``run`` is ``kiosk-fleet.service``'s: check in for ever, installing what is deployed
(through :class:`kiosk.wiring.fleet.RaucUpdater`), never while a patient is served.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.locale import text

__all__ = ["fleet"]

EXIT_UNAVAILABLE = 3


def _fleet_dir(obj: CliContext) -> Path:
    return obj.settings.paths.data_dir / "fleet"


@click.group()
def fleet() -> None:
    """Fleet check-in over hawkBit's DDI API: status and one check-in."""


@fleet.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: CliContext, as_json: bool) -> None:
    """Show the fleet settings, the last check-in and the action in flight."""
    from kiosk.fleet.endpoint import controller_id
    from kiosk.fleet.journal import Journal

    settings = obj.settings
    directory = _fleet_dir(obj)
    try:
        last = json.loads((directory / "last.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = None
    record = Journal(directory / "action.json").read()
    data = {
        "kind": settings.fleet.kind,
        "url": settings.fleet.url,
        "tenant": settings.fleet.tenant,
        "controller_id": controller_id(settings),
        "auth": settings.fleet.auth,
        "last": last,
        "in_flight": None if record is None else asdict(record),
    }
    lang = obj.lang
    lines = [
        text(
            "commands.fleet.settings",
            lang,
            kind=settings.fleet.kind,
            url=settings.fleet.url,
            tenant=settings.fleet.tenant,
            controller=data["controller_id"],
        )
    ]
    if last is None:
        lines.append(text("commands.fleet.never", lang))
    else:
        lines.append(
            text(
                "commands.fleet.last", lang, at=last["at"], result=last["result"], step=last["step"]
            )
        )
    if record is not None:
        lines.append(
            text(
                "commands.fleet.in_flight",
                lang,
                action=record.action_id,
                version=record.version,
                stage=record.stage.value,
            )
        )
    emit(as_json, data, "\n".join(lines))


@fleet.command("poll-once")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def poll_once(obj: CliContext, as_json: bool) -> None:
    """Check in once with the fleet server; an offered deployment is shown, not installed."""
    report = asyncio.run(_poll_once(obj))
    line = text(
        "commands.fleet.checked_in",
        obj.lang,
        result=report["result"],
        step=report["step"] or "-",
        next_s=report["next_s"],
    )
    emit(as_json, report, line)
    if report["result"] != "ok":
        raise SystemExit(EXIT_UNAVAILABLE)


async def _poll_once(obj: CliContext) -> dict[str, object]:
    from kiosk.clock import SystemClock
    from kiosk.wiring.fleet import open_fleet_agent

    async with open_fleet_agent(obj.settings, SystemClock()) as agent:
        report = await agent.step(act=False)
    return report.as_dict()


@fleet.command()
@click.pass_obj
def run(obj: CliContext) -> None:
    """Check in for ever at the server's pace, installing what it deploys (the unit's)."""
    import signal

    from kiosk.clock import SystemClock
    from kiosk.wiring.fleet import open_fleet_agent

    if obj.settings.fleet.kind == "none":
        click.echo(text("commands.fleet.none", obj.lang))
        return

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with open_fleet_agent(obj.settings, SystemClock()) as agent:
            await agent.run(stop)

    asyncio.run(main())
