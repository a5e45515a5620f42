"""The agent directory port: a name and a password in, the named agent out, or a clear refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from kiosk.errors import AccessDenied, InvalidInput, Unavailable
from kiosk.locale import msg

__all__ = [
    "ROLES",
    "AgentDirectory",
    "AgentDisabled",
    "AgentLocked",
    "AgentRefused",
    "DirectoryUnavailable",
    "LocalAgent",
    "check_login",
]

ROLES = ("admission", "secretary", "professional")
"""Local roles, as the habilitation table names them (``kiosk/data/habilitations.toml``)."""

_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def check_login(name: str) -> str:
    """The login as typed, stripped; :class:`InvalidInput` unless it is a plain account name."""
    login = name.strip()
    if not _LOGIN.fullmatch(login):
        raise InvalidInput(msg("agents.login_invalid"), detail="login")
    return login


@dataclass(frozen=True)
class LocalAgent:
    """A person authenticated locally: who the VIHF and the audit lines name."""

    login: str
    given_name: str
    family_name: str
    role: str
    """``admission``, ``secretary`` or ``professional`` (the habilitation table's roles)."""
    profession_code: str = ""
    """G15 profession, for a health professional without a CPS at hand; '' for staff."""
    source: str = ""
    """Which directory said yes: ``file`` or ``ldap``."""

    @property
    def display_name(self) -> str:
        """Given name then family name, or the login."""
        return f"{self.given_name} {self.family_name}".strip() or self.login

    def __repr__(self) -> str:
        return f"LocalAgent(login={self.login!r}, role={self.role!r}, source={self.source!r})"


class AgentRefused(AccessDenied):
    """Wrong name or password: one message for both, so names cannot be probed."""

    code = "AGENT_REFUSED"


class AgentDisabled(AccessDenied):
    """The password was right but the site disabled this agent."""

    code = "AGENT_DISABLED"


class AgentLocked(AccessDenied):
    """Too many wrong passwords in a row: this name waits before it may try again."""

    code = "AGENT_LOCKED"


class DirectoryUnavailable(Unavailable):
    """The hospital's directory does not answer (and no site file stands in)."""

    code = "AGENT_DIRECTORY_UNAVAILABLE"


class AgentDirectory(Protocol):
    """Where named agents are checked: the site file, the hospital's LDAP/AD."""

    async def authenticate(self, name: str, password: str) -> LocalAgent:
        """The agent, or :class:`AgentRefused`/:class:`AgentDisabled`/:class:`Unavailable`."""
        ...
