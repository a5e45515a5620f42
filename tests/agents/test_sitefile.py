"""The site file of agents: argon2id hashes, one refusal for a wrong name or password."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kiosk.agents import AgentDisabled, AgentRefused
from kiosk.agents.sitefile import SiteAgentFile
from kiosk.errors import ConfigError, InvalidInput, NotFound

PASSWORD = "correct horse 42"


async def test_an_agent_added_logs_in_by_name(site_file: SiteAgentFile) -> None:
    site_file.add(
        "CMartin", PASSWORD, given_name="Claire", family_name="MARTIN-TEST", role="secretary"
    )
    agent = await site_file.authenticate("cmartin", PASSWORD)
    assert (agent.login, agent.display_name, agent.role, agent.source) == (
        "cmartin",
        "Claire MARTIN-TEST",
        "secretary",
        "file",
    )
    assert await site_file.authenticate(" CMARTIN ", PASSWORD) == agent


async def test_the_file_holds_an_argon2id_hash_and_no_password(site_file: SiteAgentFile) -> None:
    site_file.add("cmartin", PASSWORD, given_name="Claire", family_name="M", role="admission")
    content = site_file.path.read_text()
    assert "$argon2id$" in content
    assert PASSWORD not in content
    assert stat.S_IMODE(site_file.path.stat().st_mode) == 0o600
    assert PASSWORD not in repr(site_file.entries())
    assert "argon2" not in repr(site_file.entries())


async def test_wrong_password_and_unknown_name_get_the_same_refusal(
    site_file: SiteAgentFile,
) -> None:
    site_file.add("cmartin", PASSWORD, given_name="Claire", family_name="M", role="admission")
    refusals = []
    for name, password in (("cmartin", "wrong password"), ("nobody", PASSWORD), ("cmartin", "")):
        with pytest.raises(AgentRefused) as caught:
            await site_file.authenticate(name, password)
        refusals.append(caught.value.message_fr)
    assert refusals == ["Nom ou mot de passe incorrect."] * 3


async def test_a_disabled_agent_is_refused_and_told(site_file: SiteAgentFile) -> None:
    site_file.add("cmartin", PASSWORD, given_name="Claire", family_name="M", role="admission")
    site_file.disable("cmartin")
    with pytest.raises(AgentDisabled):
        await site_file.authenticate("cmartin", PASSWORD)
    with pytest.raises(AgentRefused):  # the wrong password still says nothing more
        await site_file.authenticate("cmartin", "wrong password")
    assert [e.disabled for e in site_file.entries()] == [True]
    with pytest.raises(NotFound):
        site_file.disable("nobody")


async def test_adding_again_replaces_the_password(site_file: SiteAgentFile) -> None:
    site_file.add("cmartin", PASSWORD, given_name="Claire", family_name="M", role="admission")
    site_file.add("cmartin", "another one 77", given_name="C", family_name="M", role="secretary")
    assert len(site_file.entries()) == 1
    with pytest.raises(AgentRefused):
        await site_file.authenticate("cmartin", PASSWORD)
    assert (await site_file.authenticate("cmartin", "another one 77")).role == "secretary"


@pytest.mark.parametrize(
    ("login", "password", "role", "given"),
    [
        ("cmartin", "short", "admission", "Claire"),
        ("cmartin", PASSWORD, "doctor", "Claire"),
        ("cmartin", PASSWORD, "admission", " "),
        ("c martin", PASSWORD, "admission", "Claire"),
    ],
)
def test_bad_input_changes_nothing(
    site_file: SiteAgentFile, login: str, password: str, role: str, given: str
) -> None:
    with pytest.raises(InvalidInput):
        site_file.add(login, password, given_name=given, family_name="M", role=role)
    assert not site_file.path.exists()


async def test_no_file_is_no_agent_and_a_broken_file_is_named(tmp_path: Path) -> None:
    missing = SiteAgentFile(tmp_path / "none.toml")
    assert missing.entries() == []
    with pytest.raises(AgentRefused):
        await missing.authenticate("cmartin", PASSWORD)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[agent]\n")
    with pytest.raises(ConfigError) as caught:
        SiteAgentFile(broken).entries()
    assert "broken.toml" in caught.value.message_fr
