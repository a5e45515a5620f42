"""``kiosk sim serve`` as the world runs it: a child process on an ephemeral port."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from kiosk.clock import FrozenClock
from kiosk.insi.results import InsiTraits
from kiosk.sim.pki import TestPki
from kiosk.sim.world import ServicesComponent, SimWorld
from tests.insi_sim import make_client


async def test_the_services_component_serves_insi_and_publishes_its_url(
    tmp_path: Path, pki: TestPki
) -> None:
    # Reuse the session's PKI so the child does not generate keys again.
    (tmp_path / "pki").symlink_to(pki.directory, target_is_directory=True)
    component = ServicesComponent(port=0)
    world = SimWorld(state_dir=tmp_path, components=[component])
    with world.running():
        url = str(world.facts["insi_url"])
        assert url.startswith("http://127.0.0.1:")
        assert "INSi simulator" in component.describe()[0]
        assert str(world.facts["dmp_url"]).endswith("/dmp")
        clock = FrozenClock(datetime.now(UTC))
        async with httpx.AsyncClient() as http:
            client = make_client(http, pki.signer_for("establishment"), clock, url)
            traits = InsiTraits.create(
                family_name="CASANOVA-TEST", given_names="ANGE", sex="M", birth_date="1973-01-15"
            )
            result = await client.search_with_traits(traits)
            dmp = await http.get(f"{world.facts['dmp_url']}/_sim/dmp/173012A00432191")
        assert dmp.status_code == 200
        assert result.identity is not None
        assert result.identity.ins.matricule == "173012A00432191"
    assert world.processes == []
