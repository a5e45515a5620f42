"""``kiosk sim serve`` runs the simulated remote services (INSi, DMP) on 127.0.0.1;
``kiosk sim insi-fault`` makes the running INSi simulator fail its next answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import ConfigError, Unavailable
from kiosk.locale import msg
from kiosk.wiring.world import sim_state_dir

__all__ = ["insi_fault", "serve"]

_FAULTS = ("timeout", "http500", "soap_fault", "malformed", "hostile", "huge")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8471, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--pki-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Test PKI whose CA the services trust (default: <data_dir>/sim/pki).",
)
@click.option(
    "--ready-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the URL here as JSON once listening.",
)
@click.pass_obj
def serve(
    obj: CliContext, host: str, port: int, pki_dir: Path | None, ready_file: Path | None
) -> None:
    """Serve the simulated INSi (/insi) and DMP (/dmp) until interrupted."""
    from kiosk.sim.world import bind, build_services
    from kiosk.sim.world import serve as run

    services = build_services(pki_dir or sim_state_dir(obj.settings) / "pki")
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise Unavailable(
            msg("commands.sim_serve.serve", host=host, port=port, strerror=exc.strerror),
            detail=str(exc),
        ) from exc
    origin = f"http://{host}:{sock.getsockname()[1]}"
    click.echo(f"kiosk sim serve: INSi on {origin}/insi, DMP on {origin}/dmp", err=True)
    run(services.app, sock, ready_file=ready_file)


@click.command("insi-fault")
@click.argument("fault", type=click.Choice(_FAULTS))
@click.option("--count", type=int, default=1, show_default=True, help="How many answers.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The simulated world whose INSi to reach (default: the demo's).",
)
@click.pass_obj
def insi_fault(
    obj: CliContext, fault: str, count: int, as_json: bool, state_dir: Path | None
) -> None:
    """Make the simulated INSi play FAULT for its next answers.

    The running world's INSi, wherever it listens (``kiosk demo --services-port 0``
    picks a free port), reached directly rather than through its simulated network, so
    a cut does not stop the injection; with no world running, the configured endpoint.
    """
    from kiosk.wiring.world import world_facts

    cfg = obj.settings.insi
    if cfg.kind != "sim":
        raise ConfigError(
            msg("commands.sim_serve.insi_fault"),
            detail="insi.kind",
        )
    served = world_facts(obj.settings, state_dir).get("services_url")
    endpoint = f"{served}/insi" if isinstance(served, str) and served else cfg.endpoint
    url = endpoint.rstrip("/") + "/_sim/fault"
    body = json.dumps({"fault": fault, "count": count}).encode()
    request = urllib.request.Request(  # noqa: S310 - the configured simulator's URL
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout_s) as reply:  # noqa: S310
            queued = json.loads(reply.read())["queued"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise Unavailable(
            msg("commands.sim_serve.insi_fault_2", url=url),
            detail=type(exc).__name__,
        ) from exc
    emit(as_json, {"queued": queued}, f"INSi simulator: next answers {', '.join(queued)}")
