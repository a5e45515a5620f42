"""Reading a request body the way a guarded service does: bounded, never whole first.

Both simulated services read their requests through :func:`read_bounded`: a declared
``Content-Length`` over the limit is refused before a byte is read, and a streamed
(chunked) body is read chunk by chunk and dropped as soon as it passes the limit, so a
512 MB upload costs at most the limit in memory, not the upload.
"""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["RequestTooLarge", "read_bounded"]


class RequestTooLarge(Exception):
    """A request body over the service's limit (``seen`` bytes declared or read so far)."""

    def __init__(self, seen: int, limit: int) -> None:
        super().__init__(seen, limit)
        self.seen, self.limit = seen, limit


async def read_bounded(request: Request, limit: int) -> bytes:
    """The whole body, or RequestTooLarge once ``Content-Length`` or the stream passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise RequestTooLarge(int(declared), limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise RequestTooLarge(total, limit)
        chunks.append(chunk)
    return b"".join(chunks)
