"""The connectivity/health probes the TUI footer shows: INSi, DMP, outbox, readers, printer.

In a demo, one more: ``world``, the simulators the demo started (:func:`world_probe`).

A probe has a name and one async check; it never raises (a failure is ``up=False``
with a short detail) and holds no personal data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kiosk.errors import KioskError

__all__ = ["FunctionProbe", "HttpProbe", "Probe", "ProbeResult", "world_probe"]


@dataclass(frozen=True)
class ProbeResult:
    """What one check found: up or down, and a short detail for the footer."""

    up: bool
    detail: str = ""


class Probe(Protocol):
    """One footer light."""

    @property
    def name(self) -> str:
        """Short label: ``insi``, ``dmp``, ``outbox``, ``readers``, ``printer``."""
        ...

    async def check(self) -> ProbeResult:
        """Look now; never raises."""
        ...


@dataclass(frozen=True)
class FunctionProbe:
    """A probe from an async function returning the result; any error is ``down``."""

    name: str
    look: Callable[[], Awaitable[ProbeResult]]

    async def check(self) -> ProbeResult:
        """Run the function; a kiosk error or an OS error is down with its code."""
        try:
            return await self.look()
        except KioskError as exc:
            return ProbeResult(False, exc.code)
        except (OSError, TimeoutError) as exc:
            return ProbeResult(False, type(exc).__name__)


@dataclass(frozen=True)
class HttpProbe:
    """A remote service is up when its endpoint answers HTTP at all (any status)."""

    name: str
    url: str
    timeout_s: float = 2.0

    async def check(self) -> ProbeResult:
        """One HEAD request on a fresh connection; connection failures and timeouts are down.

        The client is new each time (a pooled connection would hide a cut link) but its
        TLS context is the shared one: building a context reads the whole CA store,
        ~25 ms on the event loop at every probe, which the agent felt as a stutter.
        """
        import httpx

        from kiosk.soap.transport import default_tls_context

        try:
            async with httpx.AsyncClient(
                verify=default_tls_context(), timeout=self.timeout_s
            ) as http:
                answer = await http.head(self.url)
        except httpx.HTTPError as exc:
            return ProbeResult(False, type(exc).__name__)
        return ProbeResult(True, f"HTTP {answer.status_code}")


def world_probe(dead: Callable[[], Sequence[str]]) -> Probe:
    """The ``world`` light: down, naming them, while simulators ``dead()`` lists have exited.

    ``dead`` is asked in the process that started them (``SimWorld.dead_processes``),
    the only one that sees an exited child as exited rather than as a zombie.
    """

    async def look() -> ProbeResult:
        gone = sorted(set(dead()))
        return ProbeResult(not gone, ", ".join(gone))

    return FunctionProbe("world", look)
