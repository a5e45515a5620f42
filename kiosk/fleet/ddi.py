"""The hawkBit Direct Device Integration (DDI) API v1 wire format, read and written purely.

Followed from the published REST documentation of hawkBit (``docs/rest-api/ddi.html``
of eclipse-hawkbit/hawkbit, OpenAPI "hawkBit REST APIs" v1):

* the root resource answers ``config.polling.sleep`` "Sleep time in HH:MM:SS notation"
  and ``_links`` (``deploymentBase``, ``installedBase``, ``configData``, ``cancelAction``);
* ``deploymentBase`` holds ``id`` (a string), ``deployment.download`` / ``.update`` in
  ``skip | attempt | forced``, ``maintenanceWindow`` in ``available | unavailable``, and
  ``chunks[].artifacts[]`` with ``filename``, ``size``, ``hashes`` (sha1, md5, sha256 "in
  Base 16 format") and ``_links`` ``download`` (HTTPS) / ``download-http``;
* feedback is ``DdiActionFeedback``: ``{"timestamp": ms, "status": {"execution": …,
  "result": {"finished": "success|failure|none"}, "details": [...]}}`` — the current
  schema has no ``id`` and no ``time`` any more (``timestamp`` in milliseconds replaces
  them), so we send none;
* ``configData`` takes ``{"mode": "merge", "data": {…}}`` whose values are strings.

Anything that does not match is :class:`FleetProtocolError`; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from kiosk.fleet.errors import FleetProtocolError
from kiosk.locale import msg

__all__ = [
    "Artifact",
    "CancelOrder",
    "Chunk",
    "ControllerBase",
    "Deployment",
    "Execution",
    "Finished",
    "Handling",
    "action_id_from_href",
    "config_data_body",
    "feedback_body",
    "format_sleep",
    "parse_cancel",
    "parse_content_range",
    "parse_controller_base",
    "parse_deployment",
    "parse_sleep",
]

_SLEEP = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d)$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_ACTION = re.compile(r"/(?:deploymentBase|cancelAction|installedBase)/(\d+)$")


class Handling(StrEnum):
    """``deployment.download`` and ``deployment.update``: what the server asks of us."""

    SKIP = "skip"
    ATTEMPT = "attempt"
    FORCED = "forced"


class Execution(StrEnum):
    """``status.execution`` values of the feedback channel."""

    CLOSED = "closed"
    PROCEEDING = "proceeding"
    CANCELED = "canceled"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    RESUMED = "resumed"
    DOWNLOADED = "downloaded"
    DOWNLOAD = "download"


class Finished(StrEnum):
    """``status.result.finished``."""

    SUCCESS = "success"
    FAILURE = "failure"
    NONE = "none"


def parse_sleep(value: str) -> float:
    """Seconds of a ``HH:MM:SS`` polling sleep (hours may pass 99)."""
    found = _SLEEP.match(value) if isinstance(value, str) else None
    if found is None:
        raise FleetProtocolError(msg("fleet.protocol", what="config.polling.sleep"), detail=value)
    hours, minutes, seconds = (int(part) for part in found.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def format_sleep(seconds: float) -> str:
    """The ``HH:MM:SS`` of a whole number of seconds (the inverse of :func:`parse_sleep`)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def action_id_from_href(href: str) -> int:
    """The action id at the end of a ``deploymentBase``/``cancelAction`` link's path."""
    found = _ACTION.search(urlsplit(href).path)
    if found is None:
        raise FleetProtocolError(msg("fleet.protocol", what="_links"), detail=href)
    return int(found.group(1))


@dataclass(frozen=True)
class ControllerBase:
    """What one poll of the root resource tells: when to poll again and what to do."""

    sleep_s: float
    deployment_href: str | None = None
    config_data_href: str | None = None
    cancel_href: str | None = None
    installed_href: str | None = None


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FleetProtocolError(msg("fleet.protocol", what=what), detail=repr(value)[:200])
    return value


def _href(links: dict[str, Any], name: str) -> str | None:
    link = links.get(name)
    if link is None:
        return None
    href = _object(link, f"_links.{name}").get("href")
    if not isinstance(href, str) or not href:
        raise FleetProtocolError(msg("fleet.protocol", what=f"_links.{name}.href"))
    return href


def parse_controller_base(document: object, *, default_sleep_s: float) -> ControllerBase:
    """The root resource's answer; a missing ``config.polling.sleep`` keeps ``default_sleep_s``."""
    body = _object(document, "controller base")
    sleep = body.get("config", {}).get("polling", {}).get("sleep")
    links = _object(body.get("_links", {}), "_links")
    return ControllerBase(
        sleep_s=default_sleep_s if sleep is None else parse_sleep(sleep),
        deployment_href=_href(links, "deploymentBase"),
        config_data_href=_href(links, "configData"),
        cancel_href=_href(links, "cancelAction"),
        installed_href=_href(links, "installedBase"),
    )


@dataclass(frozen=True)
class Artifact:
    """One file of a chunk, with where to fetch it and the hash it must have."""

    filename: str
    size: int
    sha256: str
    download: str
    """The HTTPS ``download`` link when the server gives one, else ``download-http``."""


@dataclass(frozen=True)
class Chunk:
    """A software module of the deployment (for us: the RAUC bundle of the OS)."""

    part: str
    name: str
    version: str
    artifacts: tuple[Artifact, ...]


@dataclass(frozen=True)
class Deployment:
    """A ``deploymentBase`` resource."""

    action_id: int
    download: Handling
    update: Handling
    maintenance_window: str | None
    """``available``, ``unavailable``, or None when the action has no window."""
    chunks: tuple[Chunk, ...]

    @property
    def version(self) -> str:
        """The version we would run after it: the chunks' versions, joined."""
        return "+".join(chunk.version for chunk in self.chunks)

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        """Every artifact of every chunk."""
        return tuple(a for chunk in self.chunks for a in chunk.artifacts)


def _artifact(value: object, *, prefer_https: bool) -> Artifact:
    body = _object(value, "artifact")
    filename = body.get("filename")
    size = body.get("size")
    sha256 = _object(body.get("hashes", {}), "hashes").get("sha256")
    links = _object(body.get("_links", {}), "artifact _links")
    https, plain = _href(links, "download"), _href(links, "download-http")
    download = (https or plain) if prefer_https else (plain or https)
    if not isinstance(filename, str) or not filename or "/" in filename:
        raise FleetProtocolError(msg("fleet.protocol", what="artifact.filename"))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FleetProtocolError(msg("fleet.protocol", what="artifact.size"), detail=filename)
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        # Only sha256 is trusted: md5 and sha1 no longer resist a chosen collision.
        raise FleetProtocolError(msg("fleet.protocol", what="artifact.hashes.sha256"))
    if download is None:
        raise FleetProtocolError(msg("fleet.protocol", what="artifact._links.download"))
    return Artifact(filename, size, sha256.lower(), download)


def _handling(value: object, what: str) -> Handling:
    try:
        return Handling(str(value))
    except ValueError as exc:
        raise FleetProtocolError(msg("fleet.protocol", what=what), detail=repr(value)) from exc


def parse_deployment(document: object, *, prefer_https: bool = True) -> Deployment:
    """A ``deploymentBase/{actionId}`` answer."""
    body = _object(document, "deploymentBase")
    deployment = _object(body.get("deployment"), "deployment")
    try:
        action_id = int(body["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FleetProtocolError(msg("fleet.protocol", what="deploymentBase.id")) from exc
    window = deployment.get("maintenanceWindow")
    if window not in (None, "available", "unavailable"):
        raise FleetProtocolError(msg("fleet.protocol", what="maintenanceWindow"))
    raw_chunks = deployment.get("chunks")
    if not isinstance(raw_chunks, list):
        raise FleetProtocolError(msg("fleet.protocol", what="deployment.chunks"))
    chunks = []
    for raw in raw_chunks:
        chunk = _object(raw, "chunk")
        names = [chunk.get(k) for k in ("part", "name", "version")]
        if not all(isinstance(n, str) for n in names):
            raise FleetProtocolError(msg("fleet.protocol", what="chunk"))
        arts = chunk.get("artifacts", [])
        if not isinstance(arts, list):
            raise FleetProtocolError(msg("fleet.protocol", what="chunk.artifacts"))
        part, name, version = (str(n) for n in names)
        artifacts = tuple(_artifact(a, prefer_https=prefer_https) for a in arts)
        chunks.append(Chunk(part, name, version, artifacts))
    return Deployment(
        action_id=action_id,
        download=_handling(deployment.get("download", "forced"), "deployment.download"),
        update=_handling(deployment.get("update", "forced"), "deployment.update"),
        maintenance_window=window,
        chunks=tuple(chunks),
    )


@dataclass(frozen=True)
class CancelOrder:
    """A ``cancelAction/{actionId}`` answer: the action to stop."""

    action_id: int
    stop_id: int


def parse_cancel(document: object) -> CancelOrder:
    """A ``cancelAction`` resource (``{"id": "11", "cancelAction": {"stopId": "11"}}``)."""
    body = _object(document, "cancelAction")
    try:
        stop = _object(body.get("cancelAction"), "cancelAction")["stopId"]
        return CancelOrder(int(body.get("id", stop)), int(stop))
    except (KeyError, TypeError, ValueError) as exc:
        raise FleetProtocolError(msg("fleet.protocol", what="cancelAction.stopId")) from exc


def feedback_body(
    execution: Execution,
    finished: Finished = Finished.NONE,
    details: tuple[str, ...] = (),
    *,
    at: datetime | None = None,
) -> dict[str, object]:
    """A ``DdiActionFeedback`` document; ``at`` becomes the millisecond ``timestamp``."""
    body: dict[str, object] = {
        "status": {
            "execution": execution.value,
            "result": {"finished": finished.value},
            "details": list(details),
        }
    }
    if at is not None:
        body["timestamp"] = int(at.timestamp() * 1000)
    return body


def config_data_body(data: dict[str, str]) -> dict[str, object]:
    """A ``DdiConfigData`` document merging ``data`` into the target's attributes."""
    return {"mode": "merge", "data": dict(sorted(data.items()))}


def parse_content_range(value: str) -> tuple[int, int, int | None]:
    """``bytes FIRST-LAST/TOTAL`` of a 206 (RFC 7233 §4.2) → (first, last, total or None)."""
    found = _CONTENT_RANGE.match(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise FleetProtocolError(msg("fleet.protocol", what="Content-Range"), detail=value)
    first, last = int(found.group(1)), int(found.group(2))
    total = None if found.group(3) == "*" else int(found.group(3))
    if last < first or (total is not None and last >= total):
        raise FleetProtocolError(msg("fleet.protocol", what="Content-Range"), detail=value)
    return first, last, total
