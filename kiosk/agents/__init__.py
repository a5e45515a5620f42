"""Named local agents for indirect mode: who is at the desk when no card says so.

Seed 000: « L'accès au DMP nécessite une identification nominative, il faut donc que le
PS s’authentifie localement, dans le LPS ». One port, :class:`AgentDirectory`, and two
adapters: the site file of argon2id hashes (:mod:`kiosk.agents.sitefile`, argon2-cffi)
and the hospital's LDAP/Active Directory (:mod:`kiosk.agents.ldap`, ldap3, a bind as
the user); :class:`Guarded` adds the lockout, :class:`Fallback` the site file when
the directory cannot be reached. ``kiosk/wiring/agents.py`` alone picks them.
"""

from __future__ import annotations

from kiosk.agents.directory import Fallback, Guarded, Lockout
from kiosk.agents.ports import (
    ROLES,
    AgentDirectory,
    AgentDisabled,
    AgentLocked,
    AgentRefused,
    DirectoryUnavailable,
    LocalAgent,
    check_login,
)

__all__ = [
    "ROLES",
    "AgentDirectory",
    "AgentDisabled",
    "AgentLocked",
    "AgentRefused",
    "DirectoryUnavailable",
    "Fallback",
    "Guarded",
    "LocalAgent",
    "Lockout",
    "check_login",
]
