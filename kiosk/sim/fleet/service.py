"""The simulated hawkBit DDI server (Starlette), written from the published API, not our client.

Resources and answers as the hawkBit DDI REST documentation (OpenAPI "hawkBit REST
APIs" v1, ``docs/rest-api/ddi.html`` of eclipse-hawkbit/hawkbit) gives them:

* ``GET /{tenant}/controller/v1/{controllerId}``: ``config.polling.sleep`` ("HH:MM:SS")
  and ``_links``: ``cancelAction`` or ``deploymentBase`` (``…/deploymentBase/{id}?c=…``)
  for an open action, ``installedBase`` for the last finished one, ``configData``
  "only shown for the initial configuration, after a successful update action, or if
  requested explicitly";
* ``PUT …/configData``: ``{"mode": "merge|replace|remove", "data": {…strings}}``;
* ``GET …/deploymentBase/{actionId}`` (and ``installedBase``): ``id``, ``deployment``
  (``download``/``update`` skip|attempt|forced, ``maintenanceWindow``, ``chunks``) and,
  with ``?actionHistory=N``, ``actionHistory``;
* ``POST …/deploymentBase/{actionId}/feedback``: ``DdiActionFeedback``; 410 "Action is
  not active anymore";
* ``GET …/cancelAction/{actionId}`` ``{"id", "cancelAction": {"stopId"}}`` and its feedback;
* ``GET …/softwaremodules/{softwareModuleId}/artifacts/{fileName}`` with RFC 7233 ranges,
  and ``….MD5SUM``; "the target needs to have the artifact assigned in order to be
  granted permission to download".

Authentication as ``docs/authentication.md``: ``TargetToken`` (the target's own) or
``GatewayToken`` (the tenant's; a gateway may register an unknown controller), else 401.
Drivers: ``faults.down`` (503 to all), ``faults.delay_s``, ``faults.cut_after`` (the
next artifact body stops after N bytes). ``GET /_sim/targets`` and
``/_sim/rollouts/{name}`` give the operator's view.
"""

from __future__ import annotations

import json
import secrets
import zlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.clock import Clock
from kiosk.sim.body import RequestTooLarge, read_bounded
from kiosk.sim.fleet.faults import Cut, Faults, Gate, error
from kiosk.sim.fleet.ranges import UNSATISFIABLE, parse_range
from kiosk.sim.fleet.state import (
    Action,
    ActionStatus,
    ActionType,
    Feedback,
    FleetState,
    Target,
    TargetStatus,
)

__all__ = ["DdiSimulator", "Faults"]

_MAX_BODY = 64 * 1024
_EXECUTIONS = frozenset(
    {
        "closed",
        "proceeding",
        "canceled",
        "scheduled",
        "rejected",
        "resumed",
        "downloaded",
        "download",
    }
)
_FINISHED = frozenset({"success", "failure", "none"})
_BASE = "/{tenant}/controller/v1/{controller_id}"


def _sleep(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class DdiSimulator:
    """A hawkBit tenant over :class:`FleetState`: ``DdiSimulator(clock=…).app``."""

    def __init__(self, state: FleetState | None = None, *, clock: Clock | None = None) -> None:
        self.state = state or FleetState(clock=clock)
        self.faults = Faults()
        self.requests: list[tuple[str, str, int]] = []
        """(method, path, status) of every request, in order."""
        base = _BASE
        self.app = Starlette(
            routes=[
                Route(base, self._root, methods=["GET"]),
                Route(f"{base}/configData", self._config_data, methods=["PUT"]),
                Route(
                    f"{base}/deploymentBase/{{action_id:int}}", self._deployment, methods=["GET"]
                ),
                Route(f"{base}/installedBase/{{action_id:int}}", self._installed, methods=["GET"]),
                Route(
                    f"{base}/deploymentBase/{{action_id:int}}/feedback",
                    self._feedback,
                    methods=["POST"],
                ),
                Route(f"{base}/cancelAction/{{action_id:int}}", self._cancel, methods=["GET"]),
                Route(
                    f"{base}/cancelAction/{{action_id:int}}/feedback",
                    self._cancel_feedback,
                    methods=["POST"],
                ),
                Route(
                    f"{base}/softwaremodules/{{module_id:int}}/artifacts/{{filename}}",
                    self._artifact,
                    methods=["GET"],
                ),
                Route("/_sim/targets", self._view_targets, methods=["GET"]),
                Route("/_sim/rollouts/{name}", self._view_rollout, methods=["GET"]),
            ]
        )
        self.app.add_middleware(Gate, faults=self.faults, requests=self.requests)

    # -- authentication -------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Target | Response:
        state = self.state
        if request.path_params["tenant"] != state.tenant:
            return error(401, "Unknown tenant", "unauthorized")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        controller_id = request.path_params["controller_id"]
        target = state.targets.get(controller_id)
        token = token.strip()
        by_target = scheme == "TargetToken" and state.target_tokens_enabled
        if by_target and target is not None and secrets.compare_digest(token, target.token):
            return self._seen(target)
        by_gateway = scheme == "GatewayToken" and state.gateway_tokens_enabled
        if by_gateway and secrets.compare_digest(token, state.gateway_token):
            if target is None:  # plug and play: a gateway registers the controller
                target = state.add_target(controller_id)
                target.status = TargetStatus.REGISTERED
            return self._seen(target)
        return error(401, "The request requires user authentication.", "unauthorized")

    def _seen(self, target: Target) -> Target:
        target.last_poll = self.state.clock.now()
        target.polls += 1
        if target.status is TargetStatus.UNKNOWN:
            target.status = TargetStatus.REGISTERED
        return target

    def _requested_action(self, request: Request) -> Action | Response:
        """The action of the request's path, for the controller its token names."""
        target = self._authenticate(request)
        if isinstance(target, Response):
            return target
        return self._action(target, request.path_params["action_id"])

    def _action(self, target: Target, action_id: int) -> Action | Response:
        action = self.state.actions.get(action_id)
        if action is None or action.controller_id != target.controller_id:
            return error(404, "Action not found", "notfound")
        return action

    # -- resources ------------------------------------------------------------------------

    async def _root(self, request: Request) -> Response:
        target = self._authenticate(request)
        if isinstance(target, Response):
            return target
        self.state.advance()
        root = str(request.url.replace(query=""))
        links: dict[str, dict[str, str]] = {}
        visible = [
            a
            for a in self.state.open_actions(target.controller_id)
            if a.status is not ActionStatus.SCHEDULED
        ]
        canceling = [a for a in visible if a.status is ActionStatus.CANCELING]
        if canceling:
            links["cancelAction"] = {"href": f"{root}/cancelAction/{canceling[0].id}"}
        elif visible:
            action = visible[0]
            tag = zlib.crc32(f"{action.id}:{self._window_state(action)}".encode()) - (1 << 31)
            links["deploymentBase"] = {"href": f"{root}/deploymentBase/{action.id}?c={tag}"}
        finished = [
            a
            for a in self.state.actions_of(target.controller_id)
            if a.status is ActionStatus.FINISHED
        ]
        if finished:
            links["installedBase"] = {"href": f"{root}/installedBase/{finished[-1].id}"}
        if target.request_attributes or not target.attributes:
            links["configData"] = {"href": f"{root}/configData"}
        body = {
            "config": {"polling": {"sleep": _sleep(self.state.polling_sleep_s)}},
            "_links": links,
        }
        return JSONResponse(body)

    async def _json(self, request: Request) -> Any:
        try:
            return json.loads(await read_bounded(request, _MAX_BODY))
        except RequestTooLarge:
            return error(413, "Request too large", "toolarge")
        except ValueError:
            return error(400, "Bad Request - e.g. invalid parameters", "badrequest")

    async def _config_data(self, request: Request) -> Response:
        target = self._authenticate(request)
        if isinstance(target, Response):
            return target
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        data = body.get("data") if isinstance(body, dict) else None
        mode = body.get("mode", "merge") if isinstance(body, dict) else None
        valid = isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
        if not valid or mode not in ("merge", "replace", "remove"):
            return error(400, "Bad Request - e.g. invalid parameters", "badrequest")
        assert isinstance(data, dict)
        if mode == "replace":
            target.attributes = dict(data)
        elif mode == "remove":
            for key in data:
                target.attributes.pop(key, None)
        else:
            target.attributes.update(data)
        target.request_attributes = False
        return Response(status_code=200)

    def _window_state(self, action: Action) -> str | None:
        if action.window is None:
            return None
        available = action.window.available(self.state.clock.now())
        return "available" if available else "unavailable"

    def _deployment_document(self, request: Request, action: Action) -> dict[str, object]:
        root = str(request.url.replace(query="")).split("/deploymentBase/")[0]
        root = root.split("/installedBase/")[0]
        window = self._window_state(action)
        handling = {ActionType.FORCED: "forced", ActionType.SOFT: "attempt"}.get(
            action.type, "skip"
        )
        update = (
            "skip"
            if action.type is ActionType.DOWNLOAD_ONLY or window == "unavailable"
            else handling
        )
        download = "forced" if action.type is ActionType.FORCED else "attempt"
        chunks = []
        for module in action.ds.modules:
            artifacts = []
            for artifact in module.artifacts.values():
                href = f"{root}/softwaremodules/{module.id}/artifacts/{artifact.filename}"
                plain = href.replace("https://", "http://", 1)
                artifacts.append(
                    {
                        "filename": artifact.filename,
                        "hashes": artifact.hashes,
                        "size": len(artifact.data),
                        "_links": {
                            "download": {"href": href.replace("http://", "https://", 1)},
                            "download-http": {"href": plain},
                            "md5sum": {"href": f"{href}.MD5SUM".replace("http://", "https://", 1)},
                            "md5sum-http": {"href": f"{plain}.MD5SUM"},
                        },
                    }
                )
            chunks.append(
                {
                    "part": module.type,
                    "version": module.version,
                    "name": module.name,
                    "artifacts": artifacts,
                }
            )
        deployment: dict[str, object] = {"download": download, "update": update, "chunks": chunks}
        if window is not None:
            deployment["maintenanceWindow"] = window
        document: dict[str, object] = {"id": str(action.id), "deployment": deployment}
        history = request.query_params.get("actionHistory", "0")
        if history.lstrip("-").isdigit() and int(history) != 0:
            count = len(action.messages) if int(history) < 0 else int(history)
            document["actionHistory"] = {
                "status": action.status.value.upper(),
                "messages": list(reversed(action.messages))[:count],
            }
        return document

    async def _deployment(self, request: Request) -> Response:
        action = self._requested_action(request)
        if isinstance(action, Response):
            return action
        if action.status is ActionStatus.SCHEDULED:
            return error(404, "Action not found", "notfound")
        action.messages.append("retrieved")
        return JSONResponse(self._deployment_document(request, action))

    async def _installed(self, request: Request) -> Response:
        action = self._requested_action(request)
        if isinstance(action, Response):
            return action
        return JSONResponse(self._deployment_document(request, action))

    async def _read_feedback(self, request: Request) -> Feedback | Response:
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        status = body.get("status") if isinstance(body, dict) else None
        result = status.get("result") if isinstance(status, dict) else None
        if not isinstance(status, dict) or not isinstance(result, dict):
            return error(400, "Bad Request - e.g. invalid parameters", "badrequest")
        execution, finished = status.get("execution"), result.get("finished")
        details = status.get("details", [])
        stamp = body.get("timestamp")
        if (
            execution not in _EXECUTIONS
            or finished not in _FINISHED
            or not isinstance(details, list)
            or not all(isinstance(d, str) for d in details)
            or not (stamp is None or isinstance(stamp, int))
        ):
            return error(400, "Bad Request - e.g. invalid parameters", "badrequest")
        return Feedback(self.state.clock.now(), execution, finished, tuple(details), stamp)

    async def _feedback(self, request: Request, *, cancel: bool = False) -> Response:
        action = self._requested_action(request)
        if isinstance(action, Response):
            return action
        feedback = await self._read_feedback(request)
        if isinstance(feedback, Response):
            return feedback
        if not action.active or action.status is ActionStatus.SCHEDULED:
            return error(410, "Action is not active anymore.", "actionnotactive")
        self.state.record_feedback(action, feedback, cancel=cancel)
        return Response(status_code=200)

    async def _cancel(self, request: Request) -> Response:
        action = self._requested_action(request)
        if isinstance(action, Response):
            return action
        if action.status is not ActionStatus.CANCELING:
            return error(404, "Action not found", "notfound")
        return JSONResponse({"id": str(action.id), "cancelAction": {"stopId": str(action.id)}})

    async def _cancel_feedback(self, request: Request) -> Response:
        return await self._feedback(request, cancel=True)

    async def _artifact(self, request: Request) -> Response:
        target = self._authenticate(request)
        if isinstance(target, Response):
            return target
        filename: str = request.path_params["filename"]
        md5sum = filename.endswith(".MD5SUM")
        name = filename.removesuffix(".MD5SUM") if md5sum else filename
        module = self.state.modules.get(request.path_params["module_id"])
        assigned = module is not None and any(
            module in a.ds.modules
            for a in self.state.actions_of(target.controller_id)
            if a.status is not ActionStatus.SCHEDULED
        )
        artifact = module.artifacts.get(name) if module is not None and assigned else None
        if artifact is None:
            return error(404, "Target or Module not found", "notfound")
        if md5sum:
            return Response(
                f"{artifact.hashes['md5']}  {artifact.filename}\n", media_type="text/plain"
            )
        body = artifact.body
        span = parse_range(request.headers.get("range"), len(body))
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{artifact.hashes["sha1"]}"'}
        if span == UNSATISFIABLE:
            headers["Content-Range"] = f"bytes */{len(body)}"
            return Response(status_code=416, headers=headers)
        status = 200
        if span is not None:
            first, last = span
            headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
            body, status = body[first : last + 1], 206
        if self.faults.cut_after is not None:  # the connection drops mid-body
            cut, self.faults.cut_after = self.faults.cut_after, None
            return Cut(body, cut, status, headers)
        return Response(
            body, status_code=status, headers=headers, media_type="application/octet-stream"
        )

    # -- the operator's view --------------------------------------------------------------

    async def _view_targets(self, request: Request) -> Response:
        return JSONResponse(self.state.view())

    async def _view_rollout(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.state.rollouts:
            return error(404, "Rollout not found", "notfound")
        return JSONResponse(self.state.rollout_view(name))
