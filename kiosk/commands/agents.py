"""``kiosk agents add|disable|list``: the site file of named agents for indirect mode.

The file is ``[agents] file`` (mode 0600), whatever ``[agents] kind`` says, so a site
with an LDAP directory can prepare its fallback. The password is read with ``getpass``
(typed twice, never echoed) or, with ``--password-stdin``, as one line of standard
input (scripts and tests); it is hashed with argon2id and never printed nor logged.
"""

from __future__ import annotations

import getpass
import sys

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import InvalidInput
from kiosk.locale import msg, text

__all__ = ["agents"]

_ROLES = ("admission", "secretary", "professional")


@click.group()
def agents() -> None:
    """Named agents of indirect mode (the site file, argon2id hashes)."""


def _password(lang: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass(text("commands.agents.password_prompt", lang))
    again = getpass.getpass(text("commands.agents.password_again", lang))
    if first != again:
        raise InvalidInput(msg("commands.agents.password_mismatch"), detail="password")
    return first


@agents.command("add")
@click.argument("login")
@click.option("--given", "given_name", required=True, help="Given name, as the VIHF names them.")
@click.option("--family", "family_name", required=True, help="Family name.")
@click.option("--role", type=click.Choice(_ROLES), required=True, help="Local role.")
@click.option("--profession", default="", help="G15 profession code of a professional.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def add(
    obj: CliContext,
    login: str,
    given_name: str,
    family_name: str,
    role: str,
    profession: str,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add an agent (or set a new password and names for LOGIN)."""
    from kiosk.agents.sitefile import SiteAgentFile

    password = _password(obj.lang, password_stdin)
    site = SiteAgentFile(obj.settings.agents.file)
    entry = site.add(
        login,
        password,
        given_name=given_name,
        family_name=family_name,
        role=role,
        profession_code=profession,
    )
    del password
    line = text(
        "commands.agents.added",
        obj.lang,
        login=entry.login,
        name=entry.agent().display_name,
        role=entry.role,
        path=site.path,
    )
    emit(as_json, {"login": entry.login, "role": entry.role, "file": str(site.path)}, line)


@agents.command("disable")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def disable(obj: CliContext, login: str, as_json: bool) -> None:
    """Disable LOGIN: the row stays (names in past audit lines), the login is refused."""
    from kiosk.agents.sitefile import SiteAgentFile

    entry = SiteAgentFile(obj.settings.agents.file).disable(login)
    line = text("commands.agents.disabled", obj.lang, login=entry.login)
    emit(as_json, {"login": entry.login, "disabled": True}, line)


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(obj: CliContext, as_json: bool) -> None:
    """Every agent of the site file: login, name, role, state (never a hash)."""
    from kiosk.agents.sitefile import SiteAgentFile

    entries = SiteAgentFile(obj.settings.agents.file).entries()
    data = [
        {
            "login": e.login,
            "given_name": e.given_name,
            "family_name": e.family_name,
            "role": e.role,
            "profession_code": e.profession_code,
            "disabled": e.disabled,
        }
        for e in entries
    ]
    state = {
        False: text("commands.agents.active", obj.lang),
        True: text("commands.agents.inactive", obj.lang),
    }
    lines = [f"{e.login}\t{e.agent().display_name}\t{e.role}\t{state[e.disabled]}" for e in entries]
    emit(as_json, data, "\n".join(lines) or text("commands.agents.none", obj.lang))
