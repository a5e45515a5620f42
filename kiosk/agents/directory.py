"""What every directory gets on top: a lockout after repeated failures, a fallback when down.

The lockout counts wrong passwords per name (case-folded), in this process, on the
injected clock: after ``max_failures`` in a row the name is refused without asking the
directory for ``lockout_s``; a success clears the count. An unreachable directory is no
failure of the agent and is not counted. Passwords are never logged, nor kept.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from kiosk.agents.ports import AgentDirectory, AgentLocked, AgentRefused, LocalAgent, check_login
from kiosk.clock import Clock
from kiosk.errors import Unavailable
from kiosk.locale import msg

__all__ = ["Fallback", "Guarded", "Lockout"]

_log = logging.getLogger(__name__)


@dataclass
class _Count:
    failures: int = 0
    locked_until: float | None = None


@dataclass
class Lockout:
    """Wrong passwords per name; ``max_failures`` in a row lock it for ``lockout_s``."""

    clock: Clock
    max_failures: int = 5
    lockout_s: float = 900.0
    _counts: dict[str, _Count] = field(default_factory=dict, repr=False)

    def check(self, name: str) -> None:
        """:class:`AgentLocked` while ``name`` is locked."""
        count = self._counts.get(name.casefold())
        if count is None or count.locked_until is None:
            return
        left = count.locked_until - self.clock.monotonic()
        if left > 0:
            raise AgentLocked(
                msg("agents.locked", minutes=max(1, math.ceil(left / 60))), detail="locked"
            )
        self._counts.pop(name.casefold(), None)  # the wait is over: a fresh count

    def failed(self, name: str) -> bool:
        """Count one wrong password; True when it locks the name."""
        count = self._counts.setdefault(name.casefold(), _Count())
        count.failures += 1
        if count.failures >= self.max_failures:
            count.locked_until = self.clock.monotonic() + self.lockout_s
            return True
        return False

    def succeeded(self, name: str) -> None:
        """A right password clears the count."""
        self._counts.pop(name.casefold(), None)


class Guarded:
    """A directory behind the lockout: a locked name is refused before the directory is asked."""

    def __init__(self, directory: AgentDirectory, lockout: Lockout) -> None:
        self.directory = directory
        self.lockout = lockout

    async def authenticate(self, name: str, password: str) -> LocalAgent:
        """Check the lockout, then the directory; count the refusal or clear the count."""
        login = check_login(name)
        self.lockout.check(login)
        try:
            agent = await self.directory.authenticate(login, password)
        except AgentRefused:
            if self.lockout.failed(login):
                _log.warning("agent login locked after repeated failures", extra={"login": login})
                self.lockout.check(login)  # raises AgentLocked: say so at once
            raise
        self.lockout.succeeded(login)
        return agent


class Fallback:
    """The hospital's directory, and the site file when that directory cannot be reached."""

    def __init__(self, primary: AgentDirectory, fallback: AgentDirectory) -> None:
        self.primary = primary
        self.fallback = fallback

    async def authenticate(self, name: str, password: str) -> LocalAgent:
        """The primary's answer; only when it is unreachable, the fallback's."""
        try:
            return await self.primary.authenticate(name, password)
        except Unavailable as exc:
            _log.warning("agent directory unreachable, site file used", extra={"code": exc.code})
            return await self.fallback.authenticate(name, password)
