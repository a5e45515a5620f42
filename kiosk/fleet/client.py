"""The DDI client over an injected ``httpx.AsyncClient``: every call bounded, every fault ours.

Resources as the hawkBit DDI REST documentation names them (``docs/rest-api/ddi.html``):
``GET {root}``, ``PUT {root}/configData``, ``GET {root}/deploymentBase/{actionId}``,
``POST {root}/deploymentBase/{actionId}/feedback``, ``GET {root}/cancelAction/{actionId}``
and its ``/feedback``. The server's links are read for the action id only: requests go
to the configured root, so a link naming another host never receives our token.

Artifacts are fetched from their ``download`` link, which "supports partial download as
specified by RFC7233 (range requests)": an interrupted transfer resumes with
``Range: bytes=N-``; a 200 instead of a 206 starts over. The token is sent only to the
configured server's origin (a CDN link gets none). The file is checked against the
deployment's SHA-256 and deleted when it differs.

A JSON request is bounded as a whole (a server trickling bytes defeats per-read
timeouts); a download per read, as a bundle may take minutes. httpx errors, timeouts,
5xx and 429 become :class:`FleetUnavailable`; 401/403
:class:`FleetUnauthorized`; any other unexpected answer :class:`FleetProtocolError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx

from kiosk.fleet.ddi import (
    Artifact,
    CancelOrder,
    ControllerBase,
    Deployment,
    config_data_body,
    parse_cancel,
    parse_content_range,
    parse_controller_base,
    parse_deployment,
)
from kiosk.fleet.endpoint import DdiEndpoint
from kiosk.fleet.errors import (
    ArtifactRejected,
    FleetProtocolError,
    FleetUnauthorized,
    FleetUnavailable,
)
from kiosk.locale import msg

__all__ = ["MAX_BUNDLE_BYTES", "MAX_DOCUMENT_BYTES", "DdiClient"]

_log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 1 << 20
"""A JSON answer larger than this is refused unread: no DDI resource comes near it."""

MAX_BUNDLE_BYTES = 2 << 30
"""The largest bundle we accept: a whole rootfs slot image, compressed."""


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


class DdiClient:
    """One controller's conversation with the server (``DdiClient(http, endpoint)``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: DdiEndpoint,
        *,
        timeout_s: float = 15.0,
        max_bundle_bytes: int = MAX_BUNDLE_BYTES,
    ) -> None:
        self._http = http
        self.endpoint = endpoint
        self._timeout = httpx.Timeout(timeout_s)
        self._timeout_s = timeout_s
        self._max_bundle = max_bundle_bytes

    # -- plumbing -------------------------------------------------------------------------

    def _headers(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", **(extra or {})}
        if _same_origin(url, self.endpoint.root):
            headers["Authorization"] = self.endpoint.authorization
        return headers

    def _unavailable(self, detail: str) -> FleetUnavailable:
        return FleetUnavailable(msg("fleet.unavailable", url=self.endpoint.url), detail=detail)

    def _check(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status in (401, 403):
            raise FleetUnauthorized(
                msg("fleet.unauthorized", controller=self.endpoint.controller_id, status=status),
                detail=f"{status} {url}",
            )
        if status == 429 or status >= 500:
            raise self._unavailable(f"{status} {url}")
        if not 200 <= status < 300:
            raise FleetProtocolError(msg("fleet.refused", status=status), detail=f"{status} {url}")

    async def _request(self, method: str, url: str, body: object = None) -> Any:
        """Send one request; the parsed JSON answer (None for an empty one)."""
        content = None if body is None else json.dumps(body).encode("utf-8")
        extra = {} if content is None else {"Content-Type": "application/json"}
        try:
            async with (
                asyncio.timeout(self._timeout_s),
                self._http.stream(
                    method,
                    url,
                    content=content,
                    headers=self._headers(url, extra),
                    timeout=self._timeout,
                ) as response,
            ):
                self._check(response, url)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_DOCUMENT_BYTES:
                        raise FleetProtocolError(
                            msg("fleet.protocol", what="size"), detail=f"{len(data)} {url}"
                        )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise self._unavailable(f"{type(exc).__name__} {url}") from exc
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise FleetProtocolError(msg("fleet.protocol", what="JSON"), detail=url) from exc

    # -- resources ------------------------------------------------------------------------

    async def poll(self, *, default_sleep_s: float = 300.0) -> ControllerBase:
        """``GET {root}``: the polling sleep and the links of what to do."""
        document = await self._request("GET", self.endpoint.root)
        return parse_controller_base(document, default_sleep_s=default_sleep_s)

    async def put_config(self, data: dict[str, str]) -> None:
        """``PUT {root}/configData`` merging ``data`` into the target's attributes."""
        await self._request("PUT", f"{self.endpoint.root}/configData", config_data_body(data))

    async def deployment(self, action_id: int) -> Deployment:
        """``GET {root}/deploymentBase/{actionId}``."""
        url = f"{self.endpoint.root}/deploymentBase/{action_id}"
        prefer_https = urlsplit(self.endpoint.url).scheme == "https"
        return parse_deployment(await self._request("GET", url), prefer_https=prefer_https)

    async def feedback(self, action_id: int, body: dict[str, object]) -> bool:
        """``POST …/deploymentBase/{actionId}/feedback``; False when the action is gone (410)."""
        return await self._feedback(f"{self.endpoint.root}/deploymentBase/{action_id}", body)

    async def cancel_order(self, action_id: int) -> CancelOrder:
        """``GET {root}/cancelAction/{actionId}``."""
        return parse_cancel(
            await self._request("GET", f"{self.endpoint.root}/cancelAction/{action_id}")
        )

    async def cancel_feedback(self, action_id: int, body: dict[str, object]) -> bool:
        """``POST …/cancelAction/{actionId}/feedback``; False when the action is gone."""
        return await self._feedback(f"{self.endpoint.root}/cancelAction/{action_id}", body)

    async def _feedback(self, resource: str, body: dict[str, object]) -> bool:
        try:
            await self._request("POST", f"{resource}/feedback", body)
        except FleetProtocolError as exc:
            # "410 Action is not active anymore" (and 404): nothing left to tell it.
            if exc.detail.startswith(("410 ", "404 ")):
                return False
            raise
        return True

    # -- artifacts ------------------------------------------------------------------------

    async def download(self, artifact: Artifact, dest: Path, *, attempts: int = 3) -> Path:
        """Fetch ``artifact`` into ``dest`` (resuming a partial file), checked by SHA-256."""
        if artifact.size > self._max_bundle:
            raise ArtifactRejected(
                msg("fleet.too_large", filename=artifact.filename, size=artifact.size),
                detail=f"{artifact.size} > {self._max_bundle}",
            )
        for attempt in range(1, attempts + 1):
            have = _partial_size(dest, artifact.size)
            if have == artifact.size:
                break
            try:
                await self._fetch(artifact, dest, have)
            except FleetUnavailable:
                if attempt == attempts:
                    raise  # the partial file stays: the next check-in resumes it
                _log.info("fleet: download of %s interrupted, resuming", artifact.filename)
        digest = await asyncio.to_thread(_sha256, dest)
        if digest != artifact.sha256:
            _discard(dest)
            raise ArtifactRejected(
                msg("fleet.hash_mismatch", filename=artifact.filename),
                detail=f"sha256 {digest} != {artifact.sha256}",
            )
        return dest

    async def _fetch(self, artifact: Artifact, dest: Path, have: int) -> None:
        url = artifact.download
        extra = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if have:
            extra["Range"] = f"bytes={have}-"
        try:
            async with self._http.stream(
                "GET", url, headers=self._headers(url, extra), timeout=self._timeout
            ) as response:
                if response.status_code == 416 and have:
                    _discard(dest)  # our partial file is not a prefix of theirs: start over
                    raise self._unavailable(f"416 {url}")
                self._check(response, url)
                offset = 0
                if response.status_code == 206:
                    first, _, total = parse_content_range(response.headers.get("content-range", ""))
                    if total not in (None, artifact.size):
                        raise ArtifactRejected(
                            msg("fleet.too_large", filename=artifact.filename, size=total),
                            detail=f"Content-Range total {total} != size {artifact.size}",
                        )
                    offset = first
                if offset > have:
                    raise FleetProtocolError(
                        msg("fleet.protocol", what="Content-Range"), detail=f"{offset} > {have}"
                    )
                await self._write(response, dest, offset, artifact)
        except httpx.HTTPError as exc:
            raise self._unavailable(f"{type(exc).__name__} {url}") from exc
        if _partial_size(dest, artifact.size) < artifact.size:
            raise self._unavailable(f"short body {url}")

    async def _write(
        self, response: httpx.Response, dest: Path, offset: int, artifact: Artifact
    ) -> None:
        with _open_at(dest, offset) as out:
            written = offset
            async for chunk in response.aiter_raw():  # unbuffered: a cut keeps what came
                written += len(chunk)
                if written > artifact.size:
                    out.truncate(0)
                    raise ArtifactRejected(
                        msg("fleet.too_large", filename=artifact.filename, size=written),
                        detail=f"more than the declared {artifact.size} bytes",
                    )
                out.write(chunk)
            out.flush()


def _partial_size(dest: Path, size: int) -> int:
    """Bytes already fetched into ``dest`` (a file longer than ``size`` is dropped)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = dest.stat().st_size if dest.exists() else 0
    if have > size:
        dest.unlink()
        return 0
    return have


def _discard(dest: Path) -> None:
    dest.unlink(missing_ok=True)


def _open_at(dest: Path, offset: int) -> BinaryIO:
    """``dest`` open for writing from ``offset`` on (what follows is cut)."""
    out = dest.open("r+b" if dest.exists() else "wb")
    out.seek(offset)
    out.truncate()
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
