"""The ``kiosk`` command line (contract in ARCHITECTURE.md §12).

Each area's commands live in ``kiosk/commands/<area>.py``; this module only builds
the root group, registers them, and turns every :class:`KioskError` into one line
on stderr and the exit code of its family (0 ok, 1 invalid input, 2 not found,
3 device or service unavailable). Any other exception is a bug of ours: one line
(``kiosk: internal error, see the log [INTERNAL]``), exit code 70, and the traceback
appended to ``<paths.log_dir>/internal.log`` only. Ctrl-C is one line and exit 130.
No traceback reaches the operator.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext
from kiosk.errors import KioskError

__all__ = ["EXIT_INTERNAL", "main", "root"]

EXIT_INTERNAL = 70
"""Exit code of a bug (an exception outside the error tree): EX_SOFTWARE of sysexits.h."""

_INTERNAL_LINE = "kiosk: internal error, see the log [INTERNAL]"


# Command name → "module:attribute". Modules load only when their command runs, so a
# quick `kiosk nir check` does not pay for pyscard, lxml, httpx or zxing-cpp.
_COMMANDS: dict[str, str] = {
    "agents": "kiosk.commands.agents:agents",
    "audit": "kiosk.commands.outbox:audit",
    "cards": "kiosk.commands.cards:cards",
    "console": "kiosk.commands.console:console",
    "demo": "kiosk.commands.demo:demo",
    "dmp": "kiosk.commands.dmp:dmp",
    "fleet": "kiosk.commands.fleet:fleet",
    "habilitations": "kiosk.commands.habilitations:habilitations",
    "hw": "kiosk.commands.hw:hw",
    "ins": "kiosk.commands.ins:ins",
    "insi": "kiosk.commands.insi:insi",
    "metrics": "kiosk.commands.report:metrics",
    "nir": "kiosk.commands.nir:nir",
    "outbox": "kiosk.commands.outbox:outbox",
    "print": "kiosk.commands.printing:print_",
    "provision": "kiosk.commands.provision:provision",
    "records": "kiosk.commands.records:records",
    "report": "kiosk.commands.report:report",
    "run": "kiosk.commands.run:run",
    "scan": "kiosk.commands.scan:scan",
    "selftest": "kiosk.commands.selftest:selftest",
    "sim": "kiosk.commands.sim:sim",
    "sync": "kiosk.commands.outbox:sync",
    "update": "kiosk.commands.update:update",
}


def _load(name: str) -> click.Command:
    module_name, _, attribute = _COMMANDS[name].partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{_COMMANDS[name]} is not a click command")
    return command


class _LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a bug is logged with the command's settings, then re-raised."""
        try:
            return super().invoke(ctx)
        except (KioskError, click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise  # ours to render in main(), or click's own
        except Exception as exc:
            _log_internal_error(exc, ctx.obj)
            raise _InternalError from exc


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="KIOSK_CONFIG",
    default=None,
    help="Site configuration file (TOML). Default: built-in simulation settings.",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    envvar="KIOSK_LANG",
    default="fr",
    show_default=True,
    help="Language of messages.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log to stderr at debug level.")
@click.pass_context
def root(ctx: click.Context, config_path: Path | None, lang: str, verbose: bool) -> None:
    """Admission-desk kiosk: cards, INS identity, DMP, receipts, outbox."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ["KIOSK_LANG"] = lang  # main() renders errors after the context is gone
    ctx.obj = CliContext(config_path=config_path, lang=lang, tui=_launch_tui)


async def _launch_tui(services: object, **options: Any) -> None:
    """The kiosk app in this terminal (``kiosk run``, ``kiosk demo``), loaded only then."""
    from kiosk.tui.launch import run_app

    await run_app(services, **options)  # type: ignore[arg-type]  # a kiosk.wiring.Services


def _log_dir(obj: object) -> Path:
    """Where the crash log goes: the site's ``paths.log_dir``, else the default one."""
    from kiosk.config import Settings

    if isinstance(obj, CliContext):
        with contextlib.suppress(Exception):  # the bug may be in the settings themselves
            return obj.settings.paths.log_dir
    return Settings().paths.log_dir


class _InternalError(Exception):
    """A bug of ours, already written to the crash log."""


def _log_internal_error(exc: BaseException, obj: object = None) -> None:
    """Append the traceback to the crash log; never raise (stderr has its one line)."""
    text = "".join(traceback.format_exception(exc))
    try:
        from kiosk.domain.audit import mask_nirs

        text = mask_nirs(text)
        log_dir = _log_dir(obj)
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "internal.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as log:
            log.write(f"--- {datetime.now(UTC).isoformat()} kiosk {' '.join(sys.argv[1:2])}\n")
            log.write(text)
    except Exception:  # a crash log that cannot be written must not crash
        logging.getLogger("kiosk.cli").debug("crash log not written", exc_info=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with the §12 code."""
    try:
        rc = root.main(args=argv, prog_name="kiosk", standalone_mode=False)
    except KioskError as exc:
        lang = os.environ.get("KIOSK_LANG", "fr")
        click.echo(f"kiosk: {exc.message(lang)} [{exc.code}]", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("kiosk: interrompu / aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("kiosk: interrompu / aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug of ours: the operator sees one line, the log the rest
        if not isinstance(exc, _InternalError):  # raised outside a command (parsing, loading)
            _log_internal_error(exc)
        click.echo(_INTERNAL_LINE, err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(rc if isinstance(rc, int) else 0)
