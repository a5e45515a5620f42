"""The kiosk command line as tests drive it: the console script, ``main`` in-process, click.

And the simulated services on a live socket with a configuration file pointing at them,
for CLI tests that talk to the INSi or the DMP over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from kiosk.cli import main, root
from kiosk.errors import KioskError
from kiosk.sim.world import SimServices, bind, build_services

__all__ = [
    "KIOSK",
    "RunMain",
    "invoke",
    "kiosk_main",
    "run_script",
    "served_config",
    "unreachable_config",
]

KIOSK = Path(sys.executable).parent / "kiosk"


def run_script(
    cwd: Path, *args: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed ``kiosk`` console script in a subprocess, as an operator runs it.

    The test runner's own ``KIOSK_*`` variables are left out, so only ``args`` and the
    files in ``cwd`` configure the run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return subprocess.run(
        [str(KIOSK), *args],
        capture_output=True,
        text=True,
        input=input,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


RunMain = Callable[..., tuple[int, str, str]]


@pytest.fixture
def kiosk_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> RunMain:
    """``kiosk_main(*args)`` → (exit code, stdout, stderr) of ``kiosk.cli.main`` in this process.

    Same code path as the console script without its start-up, run from ``tmp_path``.
    """

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("KIOSK_LANG", "fr")  # restored after the test; the CLI sets it
        monkeypatch.delenv("KIOSK_CONFIG", raising=False)
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out = capsys.readouterr()
        return int(exited.value.code or 0), out.out, out.err

    return run


def invoke(config: Path, *args: str) -> tuple[int, str]:
    """``kiosk --config CONFIG --lang en ARGS`` through click: exit code and English text."""
    result = CliRunner().invoke(root, ["--config", str(config), "--lang", "en", *args])
    if isinstance(result.exception, KioskError):  # kiosk.cli.main maps these to exit codes
        return result.exception.exit_code, result.exception.message("en")
    return result.exit_code, result.output


@contextmanager
def served_config(
    base: Path, pki_dir: Path, service: str, path: str, *, dmp_database: Path | None = None
) -> Iterator[tuple[Path, SimServices]]:
    """A config file in ``base`` whose ``[service]`` endpoint is ``path`` on a live simulator.

    The simulated services trust the PKI of ``pki_dir`` (linked as the data directory's
    ``sim/pki``, where the CLI looks for its keys) and listen on an ephemeral port in a
    thread of this process; the CLI runs its own event loop.
    """
    _link_pki(base, pki_dir)
    services = build_services(pki_dir, dmp_database=dmp_database)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(services.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
        config = base / "kiosk.toml"
        config.write_text(f'[{service}]\nendpoint = "{url}"\n[paths]\ndata_dir = "{base}"\n')
        yield config, services
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def unreachable_config(base: Path, pki_dir: Path, service: str, path: str) -> Path:
    """A config file in ``base`` whose ``[service]`` endpoint has nobody listening (port 9)."""
    _link_pki(base, pki_dir)
    config = base / "kiosk.toml"
    config.write_text(
        f'[{service}]\nendpoint = "http://127.0.0.1:9{path}"\ntimeout_s = 2\n'
        f'[paths]\ndata_dir = "{base}"\n'
    )
    return config


def _link_pki(base: Path, pki_dir: Path) -> None:
    """The test PKI as the data directory's ``sim/pki``, where the CLI looks for its keys."""
    (base / "sim").mkdir()
    (base / "sim" / "pki").symlink_to(pki_dir, target_is_directory=True)
