"""``kiosk agents add|disable|list``: the site file of named agents, passwords never shown."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from kiosk.agents import AgentDisabled
from kiosk.agents.sitefile import SiteAgentFile
from tests.cli.conftest import RunKiosk

PASSWORD = "une phrase de passe"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text('[agents]\nkind = "file"\nfile = "agents.toml"\n')
    return path


def test_add_list_disable(kiosk: RunKiosk, config: Path, tmp_path: Path) -> None:
    added = kiosk(
        "--config", str(config), "agents", "add", "cmartin", "--given", "Claire",
        "--family", "MARTIN-TEST", "--role", "secretary", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "cmartin (Claire MARTIN-TEST, secretary)" in added.stdout
    assert PASSWORD not in added.stdout + added.stderr
    site = tmp_path / "agents.toml"
    assert stat.S_IMODE(site.stat().st_mode) == 0o600
    assert PASSWORD not in site.read_text()
    agent = asyncio.run(SiteAgentFile(site).authenticate("cmartin", PASSWORD))
    assert agent.role == "secretary"

    listed = kiosk("--config", str(config), "--lang", "en", "agents", "list")
    assert listed.stdout.split("\t") == ["cmartin", "Claire MARTIN-TEST", "secretary", "active\n"]
    assert "argon2" not in listed.stdout

    assert kiosk("--config", str(config), "agents", "disable", "cmartin").returncode == 0
    data = json.loads(kiosk("--config", str(config), "agents", "list", "--json").stdout)
    assert [(a["login"], a["disabled"]) for a in data] == [("cmartin", True)]
    with pytest.raises(AgentDisabled):
        asyncio.run(SiteAgentFile(site).authenticate("cmartin", PASSWORD))


def test_bad_input_is_one_line_and_changes_nothing(
    kiosk: RunKiosk, config: Path, tmp_path: Path
) -> None:
    short = kiosk(
        "--config", str(config), "agents", "add", "cmartin", "--given", "C", "--family", "M",
        "--role", "admission", "--password-stdin", input="court\n",
    )  # fmt: skip
    assert short.returncode == 1
    assert short.stderr.startswith("kiosk: Mot de passe trop court")
    assert "court" not in short.stdout
    assert not (tmp_path / "agents.toml").exists()
    unknown = kiosk("--config", str(config), "agents", "disable", "nobody")
    assert unknown.returncode == 2
    assert "Traceback" not in unknown.stderr
    empty = kiosk("--config", str(config), "--lang", "en", "agents", "list")
    assert empty.stdout.strip() == "no agent in the site file"
