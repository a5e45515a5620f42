"""The hospital's directory: a real slapd on a private port, bound as the user (ldap3).

``tests/slapd.py`` builds the server's configuration with slapadd and starts it on
127.0.0.1 and a free port for this worker; it is stopped after the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.agents import AgentLocked, AgentRefused, DirectoryUnavailable, Fallback, Guarded, Lockout
from kiosk.agents.ldap import LdapDirectory, LdapSettings
from kiosk.agents.sitefile import SiteAgentFile
from kiosk.clock import FrozenClock
from kiosk.errors import InvalidInput
from tests.slapd import PEOPLE, SUFFIX, Slapd

PEOPLE_DN = "uid={name},ou=people," + SUFFIX


def directory(url: str, **changes: object) -> LdapDirectory:
    settings = LdapSettings(url, PEOPLE_DN, role_attribute="employeeType", timeout_s=3)
    return LdapDirectory(LdapSettings(**{**settings.__dict__, **changes}))  # type: ignore[arg-type]


def unreachable() -> str:
    import socket

    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        return f"ldap://127.0.0.1:{probe.getsockname()[1]}"


async def test_an_agent_binds_as_themself_and_gets_their_names_and_role(slapd: Slapd) -> None:
    given, family, role, password = PEOPLE["cmartin"]
    agent = await directory(slapd.url).authenticate("cmartin", password)
    assert (agent.login, agent.given_name, agent.family_name) == ("cmartin", given, family)
    assert agent.role == role == "secretary"
    assert agent.source == "ldap"


async def test_without_a_role_attribute_the_default_role(slapd: Slapd) -> None:
    agent = await directory(slapd.url).authenticate("jdoe", PEOPLE["jdoe"][3])
    assert agent.role == "admission"
    other = directory(slapd.url, default_role="secretary")
    assert (await other.authenticate("jdoe", PEOPLE["jdoe"][3])).role == "secretary"


async def test_a_search_under_a_base_as_for_active_directory(slapd: Slapd) -> None:
    found = directory(slapd.url, base=f"ou=people,{SUFFIX}", filter="(uid={name})")
    agent = await found.authenticate("pdurand", PEOPLE["pdurand"][3])
    assert (agent.family_name, agent.role) == ("DURAND-TEST", "admission")


@pytest.mark.parametrize(
    ("name", "password"),
    [("cmartin", "wrong"), ("nobody", "secret-claire-1"), ("cmartin", "secret-paul-22")],
)
async def test_a_wrong_name_or_password_is_refused(slapd: Slapd, name: str, password: str) -> None:
    with pytest.raises(AgentRefused) as caught:
        await directory(slapd.url).authenticate(name, password)
    assert caught.value.message_fr == "Nom ou mot de passe incorrect."


async def test_an_empty_password_is_never_an_anonymous_bind(slapd: Slapd) -> None:
    with pytest.raises(AgentRefused):
        await directory(slapd.url).authenticate("cmartin", "")


@pytest.mark.parametrize("name", ["*", "cmartin)(uid=*", "uid=cmartin,ou=people"])
async def test_a_name_with_ldap_syntax_never_reaches_the_server(slapd: Slapd, name: str) -> None:
    with pytest.raises(InvalidInput):
        await directory(slapd.url).authenticate(name, "secret-claire-1")


async def test_an_unreachable_directory_says_so_clearly() -> None:
    url = unreachable()
    with pytest.raises(DirectoryUnavailable) as caught:
        await directory(url).authenticate("cmartin", "secret-claire-1")
    assert url in caught.value.message_fr
    assert "ne répond pas" in caught.value.message_fr
    assert "does not answer" in caught.value.message_en
    assert caught.value.retryable


async def test_the_site_file_stands_in_only_when_the_directory_is_down(
    slapd: Slapd, site_file: SiteAgentFile
) -> None:
    site_file.add(
        "cmartin", "file password 1", given_name="Claire", family_name="M", role="admission"
    )
    down = Fallback(directory(unreachable()), site_file)
    agent = await down.authenticate("cmartin", "file password 1")
    assert agent.source == "file"
    up = Fallback(directory(slapd.url), site_file)
    assert (await up.authenticate("cmartin", PEOPLE["cmartin"][3])).source == "ldap"
    with pytest.raises(AgentRefused):  # the directory answered no: the file is not asked
        await up.authenticate("cmartin", "file password 1")


async def test_repeated_failures_lock_the_name_against_the_directory(slapd: Slapd) -> None:
    clock = FrozenClock()
    guarded = Guarded(directory(slapd.url), Lockout(clock, max_failures=2, lockout_s=300))
    with pytest.raises(AgentRefused):
        await guarded.authenticate("cmartin", "wrong")
    with pytest.raises(AgentLocked):
        await guarded.authenticate("cmartin", "wrong again")
    with pytest.raises(AgentLocked):
        await guarded.authenticate("cmartin", PEOPLE["cmartin"][3])
    clock.advance(300)
    assert (await guarded.authenticate("cmartin", PEOPLE["cmartin"][3])).login == "cmartin"


def test_the_server_is_ours(slapd: Slapd, tmp_path: Path) -> None:
    assert slapd.url.startswith("ldap://127.0.0.1:")
    assert slapd.process.poll() is None
