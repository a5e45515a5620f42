"""The simulated fleet server's misbehaviour and its request log, as an ASGI wrapper.

:class:`Faults` is what tests set: ``down`` (503 to every DDI request), ``delay_s`` (a
slow server), ``cut_after`` (the next artifact body stops after N bytes of its declared
``Content-Length``, as a dropped connection). :class:`Gate` plays them around the app
and records ``(method, path, status)`` of every request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

__all__ = ["Cut", "Faults", "Gate", "error"]


@dataclass
class Faults:
    """What the server does wrong, set by tests."""

    down: bool = False
    delay_s: float = 0.0
    cut_after: int | None = None


def error(status: int, message: str, code: str) -> JSONResponse:
    """An ``ExceptionInfo`` answer."""
    body = {"exceptionClass": code, "errorCode": f"hawkbit.server.error.{code}", "message": message}
    return JSONResponse(body, status_code=status)


class Cut(Response):
    """A body that stops after ``cut`` bytes of its declared ``Content-Length``."""

    def __init__(self, body: bytes, cut: int, status: int, headers: dict[str, str]) -> None:
        super().__init__(body, status, headers, "application/octet-stream")
        self._cut = cut

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        part = self.body[: self._cut]
        await send({"type": "http.response.body", "body": part, "more_body": True})
        # A server under uvicorn then drops the connection (body shorter than declared).
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class Gate:
    """Plays the faults and records every request (pure ASGI: no response buffering)."""

    def __init__(self, app: Any, faults: Faults, requests: list[tuple[str, str, int]]) -> None:
        self._app = app
        self._faults = faults
        self._requests = requests

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        faults = self._faults
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        record = [scope["method"], scope["path"], 0]

        async def recorded(message: Any) -> None:
            if message["type"] == "http.response.start":
                record[2] = message["status"]
            await send(message)

        try:
            if faults.down and not scope["path"].startswith("/_sim/"):
                await error(503, "Service Unavailable", "unavailable")(scope, receive, recorded)
            else:
                await self._app(scope, receive, recorded)
        finally:
            self._requests.append((record[0], record[1], int(record[2])))
