"""INSi calls signed by a key that never leaves its token: SoftHSM2 through PKCS#11."""

from __future__ import annotations

import httpx
import pytest

from kiosk.cards.pkcs11 import CpsModule
from kiosk.clock import FrozenClock
from kiosk.errors import CardRemoved
from kiosk.insi.results import InsiTraits
from kiosk.sim.insi.service import InsiSimulator
from kiosk.sim.pki import professional
from tests import softhsm as tokens
from tests.insi_sim import make_client

test_pki = tokens.test_pki
softhsm = tokens.softhsm
pin_lock = tokens.pin_lock
cps_module = tokens.cps_module

AGENT = professional("agent")
TRAITS = InsiTraits.create(
    family_name="MARTIN-TEST", given_names="PAUL", sex="M", birth_date="1980-05-23"
)


async def test_a_cpe_token_signs_the_insi_assertion(
    cps_module: CpsModule, http: httpx.AsyncClient, clock: FrozenClock, sim: InsiSimulator
) -> None:
    session = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    client = make_client(http, session.signer, clock)
    result = await client.search_with_traits(TRAITS)
    assert result.found
    assert sim.calls[-1].emitter == AGENT.national_id


async def test_a_pulled_card_stops_signing_and_nothing_is_sent(
    cps_module: CpsModule, http: httpx.AsyncClient, clock: FrozenClock, sim: InsiSimulator
) -> None:
    session = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    client = make_client(http, session.signer, clock)
    await session.aclose()
    with pytest.raises(CardRemoved):
        await client.search_with_traits(TRAITS)
    assert sim.calls == []
