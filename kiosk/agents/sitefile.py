"""The site file of agents: one TOML row per person, the password as an argon2id hash.

Written by ``kiosk agents add|disable`` (mode 0600, replaced whole by rename), read at
every login so an agent added from another terminal can log in at once. The only
argon2-cffi importer. Passwords are hashed with argon2id (``argon2.PasswordHasher``'s
default type) and never stored, logged or shown; an unknown name is checked against a
dummy hash, so a wrong name costs the same time as a wrong password.

```toml
version = 1
[[agent]]
login = "cdupont"
given_name = "Claire"
family_name = "DUPONT"
role = "secretary"          # admission | secretary | professional
profession_code = ""        # G15, for a professional
disabled = false
hash = "$argon2id$v=19$m=65536,t=3,p=4$…"
```
"""

from __future__ import annotations

import asyncio
import json
import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kiosk.agents.ports import ROLES, AgentDisabled, AgentRefused, LocalAgent, check_login
from kiosk.errors import ConfigError, InvalidInput, NotFound
from kiosk.locale import msg

__all__ = ["AgentEntry", "SiteAgentFile", "fast_hasher"]

_FIELDS = ("login", "given_name", "family_name", "role", "profession_code", "disabled", "hash")


def fast_hasher() -> PasswordHasher:
    """Cheap argon2id parameters for tests only (a desk uses the library's defaults)."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)


@dataclass(frozen=True)
class AgentEntry:
    """One row of the site file."""

    login: str
    given_name: str
    family_name: str
    role: str
    profession_code: str = ""
    disabled: bool = False
    hash: str = ""

    def __repr__(self) -> str:
        return f"AgentEntry(login={self.login!r}, role={self.role!r}, disabled={self.disabled})"

    def agent(self) -> LocalAgent:
        """The named agent this row describes."""
        return LocalAgent(
            self.login,
            self.given_name,
            self.family_name,
            self.role,
            self.profession_code,
            source="file",
        )


class SiteAgentFile:
    """The :class:`~kiosk.agents.ports.AgentDirectory` of a site file (and its editor)."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self._hasher = hasher or PasswordHasher(type=Type.ID)
        self._dummy: str | None = None

    # -- the directory ---------------------------------------------------------

    async def authenticate(self, name: str, password: str) -> LocalAgent:
        """The agent whose password this is; off the event loop (argon2 takes ~50 ms)."""
        return await asyncio.to_thread(self._authenticate, name, password)

    def _authenticate(self, name: str, password: str) -> LocalAgent:
        login = check_login(name).casefold()
        entry = next((e for e in self.entries() if e.login == login), None)
        if entry is None or not password:
            self._verify(self._dummy_hash(), password or "-")  # same cost as a real check
            raise AgentRefused(msg("agents.refused"), detail="file")
        if not self._verify(entry.hash, password):
            raise AgentRefused(msg("agents.refused"), detail="file")
        if entry.disabled:
            raise AgentDisabled(msg("agents.disabled"), detail="file")
        return entry.agent()

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash("no such agent")
        return self._dummy

    # -- the editor (kiosk agents …) ---------------------------------------------

    def entries(self) -> list[AgentEntry]:
        """Every row, in file order; no file is no agent."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(
                msg("agents.file_unreadable", path=self.path, reason=exc.strerror), detail="agents"
            ) from exc
        try:
            data = tomllib.loads(raw.decode("utf-8"))
            rows = data.get("agent", [])
            entries = [
                AgentEntry(**{k: row[k] for k in _FIELDS if k in row})
                for row in rows
                if isinstance(row, dict)
            ]
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, TypeError, AttributeError) as exc:
            raise ConfigError(
                msg("agents.file_unreadable", path=self.path, reason=type(exc).__name__),
                detail="agents",
            ) from exc
        return entries

    def add(
        self,
        login: str,
        password: str,
        *,
        given_name: str,
        family_name: str,
        role: str,
        profession_code: str = "",
    ) -> AgentEntry:
        """A new agent (or a new password and names for an existing one); the hash is stored."""
        name = check_login(login).casefold()
        if role not in ROLES:
            raise InvalidInput(msg("agents.role_invalid", roles=", ".join(ROLES)), detail="role")
        if len(password) < 8:
            raise InvalidInput(msg("agents.password_short"), detail="password")
        if not given_name.strip() or not family_name.strip():
            raise InvalidInput(msg("agents.name_missing"), detail="name")
        entry = AgentEntry(
            name,
            given_name.strip(),
            family_name.strip(),
            role,
            profession_code.strip(),
            hash=self._hasher.hash(password),
        )
        rows = [e for e in self.entries() if e.login != name]
        self._write([*rows, entry])
        return entry

    def disable(self, login: str) -> AgentEntry:
        """Disable an agent (the row stays, for the audit's names); :class:`NotFound` if absent."""
        name = check_login(login).casefold()
        rows = self.entries()
        found = next((e for e in rows if e.login == name), None)
        if found is None:
            raise NotFound(msg("agents.unknown", login=name), detail="login")
        disabled = replace(found, disabled=True)
        self._write([disabled if e.login == name else e for e in rows])
        return disabled

    def _write(self, rows: list[AgentEntry]) -> None:
        lines = ["# Agents of this site (kiosk agents add|disable|list). Passwords: argon2id.\n"]
        lines.append("version = 1\n")
        for row in rows:
            lines.append("\n[[agent]]\n")
            for key in _FIELDS:
                value = getattr(row, key)
                shown = "true" if value is True else "false" if value is False else None
                lines.append(f"{key} = {shown or json.dumps(value, ensure_ascii=False)}\n")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(lines))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)
