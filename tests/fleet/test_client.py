"""The DDI client against the simulated server: each resource, resume, hash, faults, auth."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.fleet.client import DdiClient
from kiosk.fleet.ddi import Artifact, Execution, Finished, Handling, feedback_body
from kiosk.fleet.errors import (
    ArtifactRejected,
    FleetProtocolError,
    FleetUnauthorized,
    FleetUnavailable,
)
from kiosk.sim.fleet.service import DdiSimulator
from kiosk.sim.fleet.state import ActionStatus, ActionType, DistributionSet, MaintenanceWindow

from .conftest import CONTROLLER, endpoint


async def test_a_poll_reads_the_sleep_and_asks_for_attributes_first(
    client: DdiClient, sim: DdiSimulator
) -> None:
    base = await client.poll()
    assert base.sleep_s == 300.0
    assert base.config_data_href is not None
    assert base.deployment_href is None
    assert sim.state.targets[CONTROLLER].status.value == "registered"


async def test_config_data_merges_the_attributes(client: DdiClient, sim: DdiSimulator) -> None:
    await client.put_config({"kiosk.version": "1.0.0", "outbox.depth": "3"})
    await client.put_config({"outbox.depth": "0"})
    assert sim.state.targets[CONTROLLER].attributes == {
        "kiosk.version": "1.0.0",
        "outbox.depth": "0",
    }
    assert (await client.poll()).config_data_href is None  # given: no longer asked


async def test_a_deployment_reads_handling_window_and_artifacts(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet
) -> None:
    window = MaintenanceWindow(start=time(22), duration=timedelta(hours=4))
    (action,) = sim.state.assign(release, [CONTROLLER], type=ActionType.SOFT, window=window)
    base = await client.poll()
    assert base.deployment_href is not None
    assert f"/deploymentBase/{action.id}?c=" in (base.deployment_href)
    deployment = await client.deployment(action.id)
    assert (deployment.action_id, deployment.version) == (action.id, "1.1.0")
    assert deployment.download is Handling.ATTEMPT
    # 09:30 UTC is outside 22:00+4h: hawkBit then says update=skip, window unavailable.
    assert (deployment.update, deployment.maintenance_window) == (Handling.SKIP, "unavailable")
    (artifact,) = deployment.artifacts
    data = release.modules[0].artifacts["kiosk.raucb"].data
    assert (artifact.size, artifact.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert artifact.download.startswith("http://hawkbit.test/DEFAULT/controller/v1/")


async def test_a_download_resumes_after_an_interrupted_transfer(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet, tmp_path: Path
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    (artifact,) = (await client.deployment(action.id)).artifacts
    sim.faults.cut_after = 70_000
    dest = await client.download(artifact, tmp_path / "bundle")
    assert dest.read_bytes() == release.modules[0].artifacts["kiosk.raucb"].data
    ranges = [path for method, path, status in sim.requests if status == 206]
    assert len(ranges) == 1  # the second request asked for the rest only


async def test_a_partial_file_from_an_earlier_check_in_is_resumed(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet, tmp_path: Path
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    (artifact,) = (await client.deployment(action.id)).artifacts
    data = release.modules[0].artifacts["kiosk.raucb"].data
    dest = tmp_path / "bundle"
    dest.write_bytes(data[:12345])
    await client.download(artifact, dest)
    assert dest.read_bytes() == data
    assert [s for _, p, s in sim.requests if "/artifacts/" in p] == [206]


async def test_a_bundle_whose_hash_differs_is_refused_and_deleted(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet, tmp_path: Path
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    stored = release.modules[0].artifacts["kiosk.raucb"]
    stored.served = b"X" + stored.data[1:]
    (artifact,) = (await client.deployment(action.id)).artifacts
    with pytest.raises(ArtifactRejected) as caught:
        await client.download(artifact, tmp_path / "bundle")
    assert caught.value.code == "FLEET_ARTIFACT"
    assert "sha256" in caught.value.detail
    assert not (tmp_path / "bundle").exists()


async def test_a_bundle_over_the_limit_is_refused_before_any_byte(
    http: httpx.AsyncClient, sim: DdiSimulator, release: DistributionSet, tmp_path: Path
) -> None:
    small = DdiClient(http, endpoint(), max_bundle_bytes=1000)
    (action,) = sim.state.assign(release, [CONTROLLER])
    (artifact,) = (await small.deployment(action.id)).artifacts
    with pytest.raises(ArtifactRejected):
        await small.download(artifact, tmp_path / "bundle")
    assert not any("/artifacts/" in p for _, p, _ in sim.requests)


async def test_feedback_moves_the_action_and_a_closed_one_is_gone(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    assert await client.feedback(action.id, feedback_body(Execution.DOWNLOADED))
    assert action.status is ActionStatus.DOWNLOADED
    closed = feedback_body(Execution.CLOSED, Finished.SUCCESS, ("ok",))
    assert await client.feedback(action.id, closed)
    assert action.status is ActionStatus.FINISHED
    assert sim.state.targets[CONTROLLER].installed is release
    assert not await client.feedback(action.id, closed)  # 410: not active anymore
    assert sim.requests[-1][2] == 410


async def test_a_malformed_feedback_is_refused_by_the_server(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    with pytest.raises(FleetProtocolError):
        await client.feedback(action.id, {"status": {"execution": "done"}})
    assert action.status is ActionStatus.RUNNING


async def test_a_server_that_is_down_is_unavailable(client: DdiClient, sim: DdiSimulator) -> None:
    sim.faults.down = True
    with pytest.raises(FleetUnavailable) as caught:
        await client.poll()
    assert caught.value.retryable
    assert caught.value.detail.startswith("503")


async def test_a_server_that_cannot_be_reached_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(FleetUnavailable):
            await DdiClient(http, endpoint()).poll()


async def test_a_slow_server_times_out(http: httpx.AsyncClient, sim: DdiSimulator) -> None:
    sim.faults.delay_s = 0.5
    with pytest.raises(FleetUnavailable):
        await DdiClient(http, endpoint(), timeout_s=0.05).poll()


async def test_a_wrong_token_is_401(http: httpx.AsyncClient, sim: DdiSimulator) -> None:
    with pytest.raises(FleetUnauthorized) as caught:
        await DdiClient(http, endpoint(token="wrong")).poll()
    assert caught.value.detail.startswith("401")
    assert sim.state.targets[CONTROLLER].polls == 0


async def test_a_gateway_token_registers_an_unknown_controller(
    http: httpx.AsyncClient, sim: DdiSimulator
) -> None:
    gateway = replace(
        endpoint(controller="new-kiosk", token=sim.state.gateway_token), auth="gateway"
    )
    await DdiClient(http, gateway).poll()
    assert sim.state.targets["new-kiosk"].status.value == "registered"
    with pytest.raises(FleetUnauthorized):  # the same secret is no target token
        await DdiClient(
            http, endpoint(controller="new-kiosk", token=sim.state.gateway_token)
        ).poll()


async def test_the_token_goes_to_the_server_only(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    async def record(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        return httpx.Response(200, stream=httpx.ByteStream(b"x"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        client = DdiClient(http, endpoint())
        cdn = Artifact("b", 1, hashlib.sha256(b"x").hexdigest(), "http://cdn.test/b")
        await client.download(cdn, tmp_path / "b")
    assert seen == [("cdn.test", None)]


async def test_a_cancel_order_is_read_and_answered(
    client: DdiClient, sim: DdiSimulator, release: DistributionSet
) -> None:
    (action,) = sim.state.assign(release, [CONTROLLER])
    sim.state.cancel(action.id)
    base = await client.poll()
    assert base.cancel_href is not None
    assert base.deployment_href is None
    order = await client.cancel_order(action.id)
    assert order.stop_id == action.id
    await client.cancel_feedback(action.id, feedback_body(Execution.CLOSED, Finished.SUCCESS))
    assert action.status is ActionStatus.CANCELED
