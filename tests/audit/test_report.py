"""``kiosk report`` and ``kiosk metrics`` on a scripted desk day, as a manager reads them.

The day (Monday 30 March 2026, the day after the switch to summer time in Paris):
agent 01 creates one DMP at once, has one authorization given and one refused, one
creation refused by the DMP, sends three typed documents and one that goes to dead
letters; agent 02 has one consent refused and two creations deferred (one
acknowledged two hours later, one the next morning) and sends one document whose
type was not recorded. Agent 01 also meets a refusal late on the Sunday and just
after midnight on the Tuesday — both on the UTC Monday.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from kiosk.audit.report import ChainNotVerified, Fact, Indicators, compute, local_day
from kiosk.audit.store import AuditLog
from kiosk.commands.context import CliContext
from kiosk.commands.report import metrics, report
from kiosk.signing import KeySigner
from tests.audit.day import PARIS, DeskDay

A, B = "3750100000/ACCUEIL01", "3750100000/ACCUEIL02"


def nir(body: str) -> str:
    """A fictitious NIR with its valid key (DOMAIN.md §2)."""
    number = int(body.replace("2A", "19").replace("2B", "18"))
    return f"{body}{97 - number % 97:02d}"


PATIENTS = [nir(f"1800575056{n:03d}") for n in range(1, 11)]


@pytest.fixture
async def day(tmp_path: Path, agent_a: KeySigner, agent_b: KeySigner) -> Path:
    desk = await DeskDay.open(tmp_path)
    p = PATIENTS
    desk.at("2026-03-29 23:50")  # the Sunday, local: 21:50 UTC
    await desk.refuse_consent(agent_a, p[0])
    desk.at("2026-03-30 08:05")
    await desk.create_now(agent_a, p[1])
    desk.at("2026-03-30 08:20")
    await desk.authorize(agent_a, p[2], agreed=True)
    desk.at("2026-03-30 09:00")
    await desk.refuse_consent(agent_b, p[3])
    desk.at("2026-03-30 09:30")
    deferred_1 = await desk.create_deferred(agent_b, p[4])
    desk.at("2026-03-30 10:00")
    deferred_2 = await desk.create_deferred(agent_b, p[5])
    desk.at("2026-03-30 10:30")
    await desk.create_refused_by_dmp(agent_a, p[6])
    desk.at("2026-03-30 11:00")
    await desk.authorize(agent_a, p[7], agreed=False)
    desk.at("2026-03-30 11:30")
    await desk.ack(deferred_1)  # two hours after it was queued
    desk.at("2026-03-30 14:00")
    for n, doc_type in enumerate(("11490-0", "11490-0", "18748-4")):
        await desk.ack(await desk.submit(agent_a, p[1], doc_type, n))
    desk.at("2026-03-30 15:00")
    await desk.ack(await desk.submit(agent_b, p[4], "", 9))  # no line: its type is unknown
    desk.at("2026-03-30 15:30")
    await desk.dead(await desk.submit(agent_a, p[2], "11490-0", 10))
    desk.at("2026-03-31 00:30")  # the Tuesday, local: still Monday 22:30 UTC
    await desk.refuse_consent(agent_a, p[8])
    desk.at("2026-03-31 07:00")
    await desk.ack(deferred_2)  # 21 hours after it was queued
    await desk.store.close()
    return tmp_path / "outbox.sqlite3"


def context(tmp_path: Path, db: Path, volume: int = 30_000) -> CliContext:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[site]\ndaily_document_volume = {volume}\n[outbox]\ndatabase = "{db}"\n'
        f'device_key = "{db.parent / "device.key"}"\ntimezone = "Europe/Paris"\n'
    )
    return CliContext(config_path=config, lang="en")


def run(obj: CliContext, command: Any, *args: str) -> Any:
    return CliRunner().invoke(command, list(args), obj=obj)


def by_day(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["day"]: d for d in data["days"]}


def test_the_json_report_gives_what_the_day_did(tmp_path: Path, day: Path) -> None:
    result = run(
        context(tmp_path, day), report, "--from", "2026-03-29", "--to", "2026-03-31", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == {"from": "2026-03-29", "to": "2026-03-31", "timezone": "Europe/Paris"}
    assert data["chain"]["ok"] is True
    total = data["total"]
    assert total["dmp_created"] == 3
    assert total["authorizations_given"] == 1
    assert total["authorizations_refused"] == 1
    assert total["consents_refused"] == 3
    assert total["creations_deferred"] == 2
    assert total["deferred_acknowledged"] == 2
    assert total["deferred_delay_s"] == {"median": (7200 + 75600) / 2, "max": 75600}
    assert total["documents_sent"] == 4
    assert total["documents_by_type"] == {"11490-0": 2, "18748-4": 1, "unknown": 1}
    assert total["dead_letters"] == 2
    assert total["dead_letters_by_kind"] == {"dmp.create": 1, "dmp.submit": 1}

    days = by_day(data)
    assert list(days) == ["2026-03-29", "2026-03-30", "2026-03-31"]
    assert days["2026-03-29"]["consents_refused"] == 1  # 23:50 local, not the UTC Monday
    monday = days["2026-03-30"]
    assert (monday["dmp_created"], monday["creations_deferred"], monday["consents_refused"]) == (
        2,
        2,
        1,
    )
    assert monday["documents_sent"] == 4
    tuesday = days["2026-03-31"]
    # The deferred creation counts as created the day the DMP acknowledged it, for its agent.
    assert (tuesday["dmp_created"], tuesday["consents_refused"]) == (1, 1)
    assert {a["agent"]: a["dmp_created"] for a in tuesday["agents"]} == {A: 0, B: 1}

    agents = {a["agent"]: a for a in data["agents"]}
    assert set(agents) == {A, B}
    assert (agents[A]["dmp_created"], agents[B]["dmp_created"]) == (1, 2)
    assert (agents[A]["consents_refused"], agents[B]["consents_refused"]) == (2, 1)
    assert agents[A]["documents_by_type"] == {"11490-0": 2, "18748-4": 1}
    assert agents[B]["documents_by_type"] == {"unknown": 1}  # the row's signer
    assert agents[A]["dead_letters"] == 2  # the refused creation and the dead document
    assert agents[B]["creations_deferred"] == 2
    assert agents[A]["creations_deferred"] == 0  # refused at once is a failure, not a deferral
    assert data["warnings"] == []


def test_a_period_counts_only_its_local_days(tmp_path: Path, day: Path) -> None:
    result = run(
        context(tmp_path, day), report, "--from", "2026-03-30", "--to", "2026-03-30", "--json"
    )
    data = json.loads(result.stdout)
    assert [d["day"] for d in data["days"]] == ["2026-03-30"]
    assert data["total"]["consents_refused"] == 1
    assert data["total"]["dmp_created"] == 2
    # The second deferral is counted on the day it was queued, its delay from the next day's ack.
    assert data["total"]["deferred_delay_s"]["max"] == 75600


def test_nothing_personal_is_in_any_shape(tmp_path: Path, day: Path) -> None:
    obj = context(tmp_path, day)
    outputs = [
        run(obj, report, "--from", "2026-03-01", "--to", "2026-04-30", *flag).output
        for flag in ((), ("--json",), ("--csv",))
    ]
    outputs.append(run(obj, metrics).output)
    for out in outputs:
        assert not any(p in out for p in PATIENTS)
        assert "*" not in out  # not even masked NIRs
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", out)  # no outbox row id
        assert not re.search(r":[0-9a-f]{40}", out)  # no idempotency key


def test_the_csv_has_one_row_per_day_and_agent_then_sums(tmp_path: Path, day: Path) -> None:
    result = run(
        context(tmp_path, day), report, "--from", "2026-03-29", "--to", "2026-03-31", "--csv"
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:4] == ["scope", "day", "agent", "dmp_created"]
    assert "documents_sent:11490-0" in rows[0]
    assert "dead_letters:dmp.submit" in rows[0]
    scopes = [r["scope"] for r in rows]
    assert scopes == ["day_agent"] * 5 + ["day"] * 3 + ["agent"] * 2 + ["total"]
    cells = {(r["day"], r["agent"]): r for r in rows if r["scope"] == "day_agent"}
    assert set(cells) == {
        ("2026-03-29", A),
        ("2026-03-30", A),
        ("2026-03-30", B),
        ("2026-03-31", A),
        ("2026-03-31", B),
    }
    monday_b = cells[("2026-03-30", B)]
    assert monday_b["creations_deferred"] == "2"
    assert monday_b["deferred_delay_median_s"] == "41400"
    assert monday_b["documents_sent:unknown"] == "1"
    total = rows[-1]
    assert (total["dmp_created"], total["documents_sent:11490-0"], total["dead_letters"]) == (
        "3",
        "2",
        "2",
    )
    # The sums agree with the detail.
    for name in ("dmp_created", "consents_refused", "documents_sent", "dead_letters"):
        detail = sum(int(r[name]) for r in rows if r["scope"] == "day_agent")
        days = sum(int(r[name]) for r in rows if r["scope"] == "day")
        assert detail == days == int(total[name]), name


def test_the_text_report_and_the_volume_warning(tmp_path: Path, day: Path) -> None:
    obj = context(tmp_path, day, volume=3)
    result = run(obj, report, "--from", "2026-03-29", "--to", "2026-03-31")
    assert result.exit_code == 0
    assert "audit chain verified" in result.stdout
    assert re.search(r"^2026-03-30 +2 +1 +1 +2 +4 +2  41400$", result.stdout, re.M), result.stdout
    assert result.stderr.splitlines() == [
        "kiosk: warning: 4 documents sent on 2026-03-30, above the service's daily volume"
        " (3, site.daily_document_volume)."
    ]
    data = json.loads(
        run(obj, report, "--from", "2026-03-30", "--to", "2026-03-30", "--json").stdout
    )
    assert data["warnings"] == [
        {"day": "2026-03-30", "documents_sent": 4, "daily_document_volume": 3}
    ]
    at_limit = run(
        context(tmp_path, day, volume=4), report, "--from", "2026-03-30", "--to", "2026-03-30"
    )
    assert at_limit.stderr == ""


def test_a_reversed_period_is_refused(tmp_path: Path, day: Path) -> None:
    result = run(context(tmp_path, day), report, "--from", "2026-03-31", "--to", "2026-03-30")
    assert result.exit_code != 0
    assert "Empty period" in str(result.exception)


def tamper(db: Path, statement: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        # Hiding a refusal: the line becomes a creation.
        "UPDATE audit SET kind = 'dmp.created' WHERE kind = 'consent.refused' AND seq = 1",
        "DELETE FROM audit WHERE kind = 'outbox.dead'",
    ],
)
def test_a_tampered_chain_gives_no_figures(tmp_path: Path, day: Path, statement: str) -> None:
    tamper(day, statement)
    with pytest.raises(ChainNotVerified) as refused:
        asyncio.run(compute(AuditLog(day)))
    assert refused.value.exit_code == 3
    assert "kiosk audit verify" in refused.value.message("en")
    result = run(
        context(tmp_path, day), report, "--from", "2026-03-29", "--to", "2026-03-31", "--json"
    )
    assert isinstance(result.exception, ChainNotVerified)
    assert result.stdout == ""  # not one figure


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_metrics_are_the_same_counters(tmp_path: Path, day: Path) -> None:
    result = run(context(tmp_path, day, volume=3), metrics)
    assert result.exit_code == 0, result.output
    values = metric_values(result.stdout)
    assert values[("kiosk_audit_chain_ok", ())] == 1
    assert values[("kiosk_dmp_created_total", (("agent", A),))] == 1
    assert values[("kiosk_dmp_created_total", (("agent", B),))] == 2
    assert values[("kiosk_consents_refused_total", (("agent", A),))] == 2
    assert values[("kiosk_creations_deferred_total", (("agent", B),))] == 2
    assert values[("kiosk_authorizations_given_total", (("agent", A),))] == 1
    assert values[("kiosk_documents_sent_total", (("type", "11490-0"),))] == 2
    assert values[("kiosk_documents_sent_total", (("type", "unknown"),))] == 1
    assert values[("kiosk_dead_letters_total", (("kind", "dmp.create"),))] == 1
    assert values[("kiosk_creation_deferral_seconds_count", ())] == 2
    assert values[("kiosk_creation_deferral_seconds_sum", ())] == 7200 + 75600
    assert values[("kiosk_daily_document_volume", ())] == 3


def test_metrics_to_a_file_say_when_the_chain_is_broken(tmp_path: Path, day: Path) -> None:
    out = tmp_path / "kiosk.prom"
    obj = context(tmp_path, day)
    assert run(obj, metrics, "-o", str(out)).exit_code == 0
    assert metric_values(out.read_text())[("kiosk_dmp_created_total", (("agent", B),))] == 2
    tamper(day, "UPDATE audit SET actor = 'quelqu''un' WHERE seq = 3")
    result = run(obj, metrics, "-o", str(out))
    assert isinstance(result.exception, ChainNotVerified)
    values = metric_values(out.read_text())
    assert values == {("kiosk_audit_chain_ok", ()): 0}  # the old counters are gone


# -- the site's local day -------------------------------------------------------

_DST_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2025, 3, 30), date(2025, 10, 26)]


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)


def test_dst_days_are_23_and_25_hours_long() -> None:
    length = {d: midnight(d + timedelta(days=1)) - midnight(d) for d in _DST_DAYS}
    assert length[date(2026, 3, 29)] == timedelta(hours=23)
    assert length[date(2026, 10, 25)] == timedelta(hours=25)


days = st.one_of(st.sampled_from(_DST_DAYS), st.dates(date(2020, 1, 1), date(2035, 12, 31)))


@given(day=days, data=st.data())
def test_every_instant_of_a_local_day_falls_in_that_day(day: date, data: st.DataObject) -> None:
    start, end = midnight(day), midnight(day + timedelta(days=1))
    length_us = (end - start) // timedelta(microseconds=1)
    instant = start + timedelta(microseconds=data.draw(st.integers(0, length_us - 1)))
    assert local_day(instant, PARIS) == day
    assert local_day(start - timedelta(microseconds=1), PARIS) == day - timedelta(days=1)
    assert local_day(end, PARIS) == day + timedelta(days=1)


instants = st.datetimes(
    datetime(2025, 3, 1), datetime(2026, 11, 30), timezones=st.just(UTC)
) | st.sampled_from(_DST_DAYS).flatmap(
    lambda d: st.integers(-3600, 26 * 3600).map(lambda s: midnight(d) + timedelta(seconds=s))
)


@given(
    moments=st.lists(instants, max_size=40),
    start=st.sampled_from(_DST_DAYS),
    span=st.integers(0, 3),
)
def test_a_period_holds_each_fact_of_its_days_exactly_once(
    moments: list[datetime], start: date, span: int
) -> None:
    end = start + timedelta(days=span)
    facts = tuple(Fact(m, A if i % 2 else B, "consents_refused") for i, m in enumerate(moments))
    result = Indicators(facts, len(facts), "0" * 64).report(
        start, end, PARIS, daily_document_volume=1
    )
    inside = [m for m in moments if start <= m.astimezone(PARIS).date() <= end]
    assert result.total().counts["consents_refused"] == len(inside)
    for day in result.days():
        on_day = [m for m in moments if m.astimezone(PARIS).date() == day]
        assert result.day(day).counts["consents_refused"] == len(on_day)
    assert sum(result.agent(a).counts["consents_refused"] for a in result.agents()) == len(inside)
