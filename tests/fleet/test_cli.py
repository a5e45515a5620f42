"""``kiosk fleet status|poll-once``: with the in-process simulator, and with nothing configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.fleet.endpoint import read_token
from tests.command_line import invoke


def _config(tmp_path: Path, fleet: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f'[paths]\ndata_dir = "{tmp_path}/var"\n\n[fleet]\n{fleet}\n', "utf-8")
    return path


def test_poll_once_with_the_simulator_checks_in_then_status_shows_it(tmp_path: Path) -> None:
    config = _config(tmp_path, 'kind = "sim"')
    code, out = invoke(config, "fleet", "poll-once", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert (report["result"], report["step"], report["next_s"]) == ("ok", "idle", 300.0)
    code, out = invoke(config, "fleet", "status")
    assert code == 0
    assert "controller 3750100000-KIOSK-DEMO-0001" in out
    assert "last contact:" in out
    assert "ok (idle)" in out


def test_status_before_any_check_in(tmp_path: Path) -> None:
    code, out = invoke(_config(tmp_path, 'kind = "ddi"'), "fleet", "status", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["kind"], data["last"], data["in_flight"]) == ("ddi", None, None)


def test_poll_once_without_a_fleet_server_says_so(tmp_path: Path) -> None:
    code, out = invoke(_config(tmp_path, 'kind = "none"'), "fleet", "poll-once")
    assert code == 1
    assert "No fleet server configured" in out


def test_poll_once_against_a_server_that_is_not_there_exits_3(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret\n")
    token.chmod(0o600)
    fleet = f'kind = "ddi"\nurl = "http://127.0.0.1:9"\ntoken_file = "{token}"\ntimeout_s = 2.0'
    code, out = invoke(_config(tmp_path, fleet), "fleet", "poll-once")
    assert code == 3
    assert "check-in: unavailable" in out


def test_a_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret")
    token.chmod(0o644)
    with pytest.raises(ConfigError) as caught:
        read_token(token)
    assert "644" in caught.value.message("en")
    token.chmod(0o600)
    assert read_token(token) == "secret"
    settings = load_settings(_config(tmp_path, f'token_file = "{token}"\nauth = "gateway"'))
    assert (settings.fleet.kind, settings.fleet.auth) == ("none", "gateway")
