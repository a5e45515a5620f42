"""``[agents]`` → the agent directory: none, the site file, LDAP, LDAP with the file as fallback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kiosk.agents import AgentLocked, AgentRefused, DirectoryUnavailable, Guarded
from kiosk.agents.sitefile import SiteAgentFile, fast_hasher
from kiosk.clock import FrozenClock
from kiosk.config import Settings, parse_settings
from kiosk.wiring.agents import build_agent_directory

PASSWORD = "file password 1"


def _down() -> str:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        return f"ldap://127.0.0.1:{probe.getsockname()[1]}"


def _settings(tmp_path: Path, **agents: object) -> Settings:
    return parse_settings({"agents": {"file": str(tmp_path / "agents.toml"), **agents}})


def test_no_directory_by_default(tmp_path: Path) -> None:
    assert build_agent_directory(parse_settings({}), FrozenClock()) is None


async def test_an_unreachable_ldap_falls_back_on_the_site_file_when_configured(
    tmp_path: Path,
) -> None:
    SiteAgentFile(tmp_path / "agents.toml", fast_hasher()).add(
        "cmartin", PASSWORD, given_name="Claire", family_name="M", role="admission"
    )
    url = _down()
    alone = build_agent_directory(
        _settings(tmp_path, kind="ldap", ldap_url=url, ldap_timeout_s=2),
        FrozenClock(),
    )
    assert isinstance(alone, Guarded)
    with pytest.raises(DirectoryUnavailable) as caught:
        await alone.authenticate("cmartin", PASSWORD)
    assert url in caught.value.message_en
    backed = build_agent_directory(
        _settings(tmp_path, kind="ldap", ldap_url=url, ldap_timeout_s=2, fallback_file=True),
        FrozenClock(),
    )
    assert backed is not None
    assert (await backed.authenticate("cmartin", PASSWORD)).source == "file"


async def test_the_configured_lockout(tmp_path: Path) -> None:
    SiteAgentFile(tmp_path / "agents.toml", fast_hasher()).add(
        "cmartin", PASSWORD, given_name="Claire", family_name="M", role="admission"
    )
    clock = FrozenClock()
    directory = build_agent_directory(
        _settings(tmp_path, kind="file", max_failures=2, lockout_s=60),
        clock,
    )
    assert directory is not None
    with pytest.raises(AgentRefused):
        await directory.authenticate("cmartin", "wrong")
    with pytest.raises(AgentLocked):
        await directory.authenticate("cmartin", "wrong")
    clock.advance(60)
    assert (await directory.authenticate("cmartin", PASSWORD)).login == "cmartin"
