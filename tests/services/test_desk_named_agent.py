"""Indirect mode with named agents, on the real simulated stack (cards, tokens, DMP, outbox).

Seed 000: « L'accès au DMP nécessite une identification nominative, il faut donc que le
PS s’authentifie localement, dans le LPS ». The agent logs in by name and password
(the site file, argon2id) before the establishment's certificate is used; the VIHF of
every DMP call then names that agent, and so does every audit line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.agents import AgentLocked, AgentRefused
from kiosk.agents.sitefile import SiteAgentFile, fast_hasher
from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardEvent, CardInserted, CardKind
from kiosk.config import Settings
from kiosk.errors import ConfigError, InvalidInput
from kiosk.services.session import SessionState
from kiosk.services.stages import Stage
from kiosk.sim.cards.desk import control_request
from kiosk.wiring import Services, open_services
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.desk import sim_settings, sim_world

__all__ = ["sim_world"]  # fixture, used by name

test_pki = tokens.test_pki

ESTABLISHMENT_PIN = "87654321"  # kiosk/sim/data/professionals.toml [establishment]
PASSWORD = "claire passe 2026"  # a test value of this fixture only
ADULT_NIR = "180057505612342"
AGENT_ID = "3750100000/cmartin"


def _named(world: Path, **agents: object) -> Settings:
    settings = sim_settings(world)
    site = settings.site.model_copy(update={"indirect_mode": True})
    section = settings.agents.model_copy(
        update={"kind": "file", "file": world / "agents.toml", "max_failures": 3, **agents}
    )
    return settings.model_copy(update={"site": site, "agents": section})


@pytest.fixture
async def named(sim_world: Path) -> AsyncIterator[Services]:
    SiteAgentFile(sim_world / "agents.toml", fast_hasher()).add(
        "cmartin", PASSWORD, given_name="Claire", family_name="MARTIN-TEST", role="secretary"
    )
    async with open_services(_named(sim_world)) as services:
        yield services


async def _next(events: Any, kind: CardKind) -> CardEvent:
    async def find() -> CardEvent:
        async for event in events:
            if isinstance(event, CardInserted) and event.kind is kind:
                return event
        raise AssertionError("monitor stopped")

    return await asyncio.wait_for(find(), timeout=20)


async def test_the_agent_is_named_before_the_certificate_is_used(named: Services) -> None:
    desk = named.desk
    assert desk.needs_agent_login
    with pytest.raises(InvalidInput):
        await desk.login_indirect(ESTABLISHMENT_PIN)  # the establishment PIN alone: no
    with pytest.raises(AgentRefused):
        await desk.login_indirect(ESTABLISHMENT_PIN, "cmartin", "wrong password")
    assert named.session.state is not SessionState.LOGGED_IN
    who = await desk.login_indirect(ESTABLISHMENT_PIN, "cmartin", PASSWORD)
    assert who.national_id == AGENT_ID
    assert who.display_name == "Claire MARTIN-TEST"
    assert named.session.professional == who


async def test_the_vihf_and_every_audit_line_name_the_agent(named: Services) -> None:
    await named.desk.login_indirect(ESTABLISHMENT_PIN, "cmartin", PASSWORD)
    events = named.card_monitor.events()
    path = world_facts(named.settings).get("cards_control")
    assert control_request(Path(str(path)), {"op": "insert", "card": "adult"}).get("ok")
    vitale = await _next(events, CardKind.VITALE)
    await named.desk.card_event(vitale)
    admission = named.desk.begin_admission(vitale.reader)
    await admission.read_card()
    admission.choose(0)
    await admission.search_identity()
    admission.confirm_document()
    await admission.qualify()
    assert await admission.dmp_status() is Stage.NO_DMP  # TD0.2, a direct call
    await admission.give_information(brochure=True)
    stage = await admission.consent(
        creation=True, establishment_access=True, emergency_access=True,
        regulation_centre_access=True,
    )  # fmt: skip
    assert stage is Stage.CREATED  # TD1.1, through the outbox and its worker
    await named.desk.logout()

    dmp_url = str(world_facts(named.settings)["dmp_url"]).rstrip("/")
    async with httpx.AsyncClient() as http:
        state = (await http.get(f"{dmp_url}/_sim/dmp/{ADULT_NIR}")).json()
    actors = {(t["transaction"], t["actor"], t["mode"]) for t in state["traces"]}
    assert actors == {("TD0.2", AGENT_ID, "INDIRECTE"), ("TD1.1", AGENT_ID, "INDIRECTE")}

    await named.outbox.chain_owed()
    log = AuditLog(named.outbox.path)
    assert (await log.verify()).ok
    lines = [json.loads(line) for line in await log.export_lines()]
    assert {line["kind"] for line in lines} >= {
        "session.login", "identity.verified", "consent.given", "outbox.enqueued",
        "dmp.created", "outbox.acked", "session.logout",
    }  # fmt: skip
    # Every line, the outbox's own included: its row is signed by the establishment's key
    # but queued for the agent.
    assert all(line["actor"] == AGENT_ID for line in lines), lines
    login = next(line for line in lines if line["kind"] == "session.login")
    assert login["details"] == {"mode": "indirect", "agent": "cmartin", "directory": "file"}
    assert PASSWORD not in json.dumps(lines)


async def test_repeated_failures_lock_the_name_and_are_audited(named: Services) -> None:
    for _ in range(2):
        with pytest.raises(AgentRefused):
            await named.desk.login_indirect(ESTABLISHMENT_PIN, "cmartin", "wrong")
    with pytest.raises(AgentLocked):
        await named.desk.login_indirect(ESTABLISHMENT_PIN, "cmartin", "wrong")
    with pytest.raises(AgentLocked):
        await named.desk.login_indirect(ESTABLISHMENT_PIN, "cmartin", PASSWORD)
    await named.outbox.chain_owed()
    lines = [json.loads(line) for line in await AuditLog(named.outbox.path).export_lines()]
    refused = [line["details"] for line in lines if line["kind"] == "session.login_refused"]
    assert [r["reason"] for r in refused] == ["AGENT_REFUSED"] * 2 + ["AGENT_LOCKED"] * 2
    assert all(r["agent"] == "cmartin" for r in refused)
    assert "wrong" not in json.dumps(lines)


async def test_production_refuses_indirect_mode_without_a_directory(sim_world: Path) -> None:
    settings = _named(sim_world, kind="none")
    site = settings.site.model_copy(update={"environment": "production"})
    with pytest.raises(ConfigError) as caught:
        async with open_services(settings.model_copy(update={"site": site})):
            pass
    assert "identification nominative" in caught.value.message_fr


async def test_without_a_directory_the_test_site_keeps_the_establishment_pin(
    sim_world: Path,
) -> None:
    settings = _named(sim_world, kind="none")
    async with open_services(settings) as services:
        assert not services.desk.needs_agent_login
        who = await services.desk.login_indirect(ESTABLISHMENT_PIN)
        assert who.national_id == "3750100000"


async def test_with_the_sites_pin_file_the_agent_types_only_name_and_password(
    sim_world: Path,
) -> None:
    SiteAgentFile(sim_world / "agents.toml", fast_hasher()).add(
        "cmartin", PASSWORD, given_name="Claire", family_name="MARTIN-TEST", role="secretary"
    )
    pin_file = sim_world / "establishment.pin"
    pin_file.write_text(ESTABLISHMENT_PIN + "\n")
    pin_file.chmod(0o600)
    async with open_services(_named(sim_world, establishment_pin_file=pin_file)) as services:
        assert not services.desk.asks_establishment_pin
        with pytest.raises(AgentRefused):  # the directory still comes first
            await services.desk.login_indirect("", "cmartin", "wrong password")
        who = await services.desk.login_indirect("", "cmartin", PASSWORD)
        assert who.national_id == AGENT_ID
    pin_file.chmod(0o644)  # readable by others: refused, as every PIN file of the kiosk
    async with open_services(_named(sim_world, establishment_pin_file=pin_file)) as services:
        with pytest.raises(ConfigError):
            await services.desk.login_indirect("", "cmartin", PASSWORD)
        assert services.session.state is not SessionState.LOGGED_IN
