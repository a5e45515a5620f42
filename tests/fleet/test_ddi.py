"""The DDI wire format: the documentation's own examples, and properties of the parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.fleet.ddi import (
    Execution,
    Finished,
    Handling,
    action_id_from_href,
    feedback_body,
    format_sleep,
    parse_content_range,
    parse_controller_base,
    parse_deployment,
    parse_sleep,
)
from kiosk.fleet.errors import FleetProtocolError
from kiosk.sim.fleet.ranges import UNSATISFIABLE, parse_range

EXAMPLES = json.loads((Path(__file__).parent / "vectors" / "ddi_examples.json").read_text())


def test_the_documented_controller_base_parses() -> None:
    base = parse_controller_base(EXAMPLES["DdiControllerBase"], default_sleep_s=60)
    assert base.sleep_s == 12 * 3600
    assert base.deployment_href is not None
    assert action_id_from_href(base.deployment_href) == 5
    assert base.installed_href is not None
    assert action_id_from_href(base.installed_href) == 4
    assert base.config_data_href is not None
    assert base.cancel_href is None


def test_the_documented_deployment_base_parses() -> None:
    deployment = parse_deployment(EXAMPLES["DdiDeploymentBase"])
    assert deployment.action_id == 8
    assert (deployment.download, deployment.update) == (Handling.FORCED, Handling.FORCED)
    assert deployment.maintenance_window == "available"
    assert [c.version for c in deployment.chunks] == ["1.0.75", "1.0.79", "1.0.91"]
    first = deployment.artifacts[0]
    assert first.download.startswith("https://link-to-cdn.com/")
    assert first.sha256 == "b3a04740a19e36057ccf258701922f3cd2f1a880536be53a3ca8d50f6b615975"
    plain = parse_deployment(EXAMPLES["DdiDeploymentBase"], prefer_https=False)
    assert plain.artifacts[0].download.startswith("http://link-to-cdn.com/")


def test_a_feedback_has_the_documented_shape() -> None:
    from datetime import UTC, datetime

    at = datetime(2021, 8, 3, 13, 31, 41, 890000, tzinfo=UTC)
    body = feedback_body(Execution.CLOSED, Finished.FAILURE, ("Some feedback",), at=at)
    assert body == {
        "timestamp": 1627997501890,  # the documentation's example instant
        "status": {
            "execution": "closed",
            "result": {"finished": "failure"},
            "details": ["Some feedback"],
        },
    }


def _with_artifact(**changes: object) -> dict[str, object]:
    artifact: dict[str, object] = {
        "filename": "a",
        "size": 1,
        "hashes": {"sha256": "0" * 64},
        "_links": {"download": {"href": "https://x/a"}},
        **changes,
    }
    chunk = {"part": "os", "name": "n", "version": "1", "artifacts": [artifact]}
    return {"id": "1", "deployment": {"chunks": [chunk]}}


@pytest.mark.parametrize(
    "document",
    [
        {"id": "x", "deployment": {"chunks": []}},
        {"id": "1", "deployment": {"download": "later", "chunks": []}},
        {"id": "1", "deployment": {"chunks": [], "maintenanceWindow": "soon"}},
        _with_artifact(hashes={"md5": "0" * 32}),  # md5 alone is not trusted
        _with_artifact(filename="../a"),
        _with_artifact(size=-1),
        _with_artifact(_links={}),
        [],
    ],
)
def test_a_deployment_off_the_schema_is_refused(document: object) -> None:
    with pytest.raises(FleetProtocolError):
        parse_deployment(document)


@given(st.integers(min_value=0, max_value=999 * 3600 + 3599))
def test_sleep_round_trips(seconds: int) -> None:
    assert parse_sleep(format_sleep(seconds)) == seconds


@given(st.text(max_size=12))
def test_sleep_parses_only_hh_mm_ss(value: str) -> None:
    try:
        seconds = parse_sleep(value)
    except FleetProtocolError:
        return
    hours, minutes, secs = value.split(":")
    assert seconds == int(hours) * 3600 + int(minutes) * 60 + int(secs)
    assert int(minutes) < 60
    assert int(secs) < 60
    assert value.isascii()


@given(
    first=st.integers(min_value=0, max_value=10**9),
    length=st.integers(min_value=1, max_value=10**6),
    extra=st.integers(min_value=0, max_value=10**6),
)
def test_a_content_range_round_trips(first: int, length: int, extra: int) -> None:
    last, total = first + length - 1, first + length + extra
    assert parse_content_range(f"bytes {first}-{last}/{total}") == (first, last, total)
    assert parse_content_range(f"bytes {first}-{last}/*") == (first, last, None)


@given(st.text(max_size=30))
def test_a_content_range_is_a_valid_span_or_refused(value: str) -> None:
    try:
        first, last, total = parse_content_range(value)
    except FleetProtocolError:
        return
    assert first <= last
    assert total is None or last < total


@given(size=st.integers(min_value=0, max_value=10_000), header=st.text(max_size=20))
def test_the_simulator_serves_a_range_inside_the_file(size: int, header: str) -> None:
    span = parse_range(header, size)
    if span is None or span == UNSATISFIABLE:
        return
    first, last = span
    assert 0 <= first <= last < size


@given(size=st.integers(min_value=1, max_value=10_000), data=st.data())
def test_the_simulator_honours_the_ranges_a_resume_sends(size: int, data: st.DataObject) -> None:
    have = data.draw(st.integers(min_value=0, max_value=size + 5))
    span = parse_range(f"bytes={have}-", size)
    assert span == ((have, size - 1) if have < size else UNSATISFIABLE)
    count = data.draw(st.integers(min_value=1, max_value=size + 5))
    assert parse_range(f"bytes=-{count}", size) == (max(0, size - count), size - 1)
