"""``kiosk sim serve``: the simulated remote services (INSi, DMP) on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.commands.context import CliContext
from kiosk.errors import Unavailable

__all__ = ["serve"]


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
    from kiosk.sim.server import bind, build_services
    from kiosk.sim.server import serve as run

    services = build_services(pki_dir or obj.settings.paths.data_dir / "sim" / "pki")
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise Unavailable(
            f"Impossible d'écouter sur {host}:{port} ({exc.strerror}).",
            f"Cannot listen on {host}:{port} ({exc.strerror}).",
            detail=str(exc),
        ) from exc
    origin = f"http://{host}:{sock.getsockname()[1]}"
    click.echo(f"kiosk sim serve: INSi on {origin}/insi, DMP on {origin}/dmp", err=True)
    run(services.app, sock, ready_file=ready_file)
