"""The command tree: every area's command is reachable, and each one loads."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kiosk.cli import _COMMANDS, root
from tests.cli.conftest import RunKiosk

COMMANDS = sorted(_COMMANDS)


def test_help_lists_every_command(kiosk: RunKiosk) -> None:
    done = kiosk("--help")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line}
    assert listed == set(COMMANDS) >= {"nir", "ins", "cards", "demo", "sim", "print", "outbox"}


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_imports_and_has_help(name: str) -> None:
    result = CliRunner().invoke(root, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_cards_login_is_reachable() -> None:
    result = CliRunner().invoke(root, ["cards", "login", "--help"])
    assert result.exit_code == 0, result.output
