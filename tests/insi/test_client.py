"""The INSi client against the simulator: the population's cases and every failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from kiosk.clock import FrozenClock
from kiosk.errors import AccessDenied, KioskError, SoapFault, Unavailable
from kiosk.insi.client import InsiClient
from kiosk.insi.protocol import ResultCode
from kiosk.insi.results import InsiIns, InsiTraits
from kiosk.signing import KeySigner
from kiosk.sim.insi.service import InsiSimulator, SimFault
from kiosk.sim.pki import TestPki
from kiosk.sim.world import bind, build_services
from kiosk.soap.envelope import InvalidXml
from tests.insi_sim import make_client

TEST_OID = "1.2.250.1.213.1.4.10"


def traits(family: str, given: str, sex: str, born: str, place: str | None = None) -> InsiTraits:
    return InsiTraits.create(
        family_name=family, given_names=given, sex=sex, birth_date=born, birth_place=place
    )


async def test_search_with_traits_finds_one_identity_with_its_traits(client: InsiClient) -> None:
    result = await client.search_with_traits(traits("Martin-Test", "paul", "M", "1980-05-23"))
    assert result.code is ResultCode.ONE
    assert result.identity is not None
    assert result.identity.ins == InsiIns("180057505612342", TEST_OID, "NIR")
    assert result.identity.traits.given_names == ("PAUL", "HENRI")
    assert result.identity.traits.birth_place == "75056"


async def test_one_given_name_per_call_each_in_turn(client: InsiClient, sim: InsiSimulator) -> None:
    # The agent typed the given names in another order: the first try fails, the second hits.
    result = await client.search_with_traits(traits("ROCHE-TEST", "JEAN PAUL", "M", "1965-11-30"))
    assert result.found
    assert result.given_names_tried == ("JEAN", "PAUL")
    assert [c.outcome for c in sim.calls] == ["01", "00"]


async def test_nobody_found_after_every_given_name(client: InsiClient) -> None:
    result = await client.search_with_traits(traits("NOBODY-TEST", "ANNE LISE", "F", "2001-02-03"))
    assert result.code is ResultCode.NONE
    assert result.identity is None
    assert result.given_names_tried == ("ANNE", "LISE")


async def test_homonyms_are_several_and_never_picked_then_the_birth_place_separates(
    client: InsiClient,
) -> None:
    several = await client.search_with_traits(traits("GARNIER-TEST", "MARIE", "F", "1990-01-01"))
    assert several.code is ResultCode.SEVERAL
    assert several.identity is None
    refined = await client.search_with_traits(
        traits("GARNIER-TEST", "MARIE", "F", "1990-01-01", place="2A004")
    )
    assert refined.identity is not None
    assert refined.identity.ins.matricule == "290012A00417731"


async def test_twins_are_separated_by_birth_rank_with_vitale_data(client: InsiClient) -> None:
    found = {}
    for rank in (1, 2):
        result = await client.search_with_vitale(
            insured_nir="285036912304579", birth_date="2015-06-12", birth_rank=rank
        )
        assert result.identity is not None
        found[rank] = result.identity.traits.given_names[0]
    assert found == {1: "LEA", 2: "LOUIS"}


async def test_a_changed_nir_comes_with_its_history(client: InsiClient) -> None:
    result = await client.search_with_traits(traits("ROCHE-TEST", "PAUL", "M", "1965-11-30"))
    assert result.identity is not None
    assert [h.matricule for h in result.identity.history] == ["765119913401224"]
    old = InsiIns("765119913401224", TEST_OID)
    verified_old = await client.verify(old, result.identity.traits)
    assert verified_old.code is ResultCode.NONE
    verified_new = await client.verify(result.identity.ins, result.identity.traits)
    assert verified_new.found


async def test_an_nia_is_reported_as_such(client: InsiClient) -> None:
    result = await client.search_with_traits(traits("NDIAYE-TEST", "AWA", "F", "1988-07-07"))
    assert result.identity is not None
    assert result.identity.ins.kind == "NIA"


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        (SimFault.TIMEOUT, Unavailable, "délai dépassé"),
        (SimFault.HTTP_500, Unavailable, "HTTP 503"),
        (SimFault.SOAP_FAULT, SoapFault, "Erreur interne"),
        (SimFault.MALFORMED, InvalidXml, "XML mal formé"),
        (SimFault.HOSTILE, InvalidXml, "DTD ou entité refusée"),
        (SimFault.HUGE, InvalidXml, "trop volumineuse"),
    ],
)
async def test_every_service_failure_is_a_clear_error(
    client: InsiClient, sim: InsiSimulator, fault: SimFault, error: type[KioskError], words: str
) -> None:
    sim.inject(fault)
    with pytest.raises(error) as caught:
        await client.search_with_traits(traits("MARTIN-TEST", "PAUL", "M", "1980-05-23"))
    assert words in caught.value.message("fr")
    # The next call works again: a fault is not a broken client.
    assert (await client.search_with_traits(traits("MARTIN-TEST", "PAUL", "M", "1980-05-23"))).found


async def test_a_certificate_from_another_authority_is_refused(
    http: httpx.AsyncClient, clock: FrozenClock, rogue_signer: KeySigner, sim: InsiSimulator
) -> None:
    client = make_client(http, rogue_signer, clock)
    with pytest.raises(AccessDenied, match="authentication"):
        await client.search_with_traits(traits("MARTIN-TEST", "PAUL", "M", "1980-05-23"))
    assert sim.calls[-1].outcome == "refused:wsse:FailedAuthentication"


async def test_an_assertion_from_a_skewed_clock_is_refused(
    http: httpx.AsyncClient, pki: TestPki, sim: InsiSimulator
) -> None:
    late = FrozenClock()
    late.advance(-3600)
    client = make_client(http, pki.signer_for("agent"), late)
    with pytest.raises(AccessDenied):
        await client.search_with_traits(traits("MARTIN-TEST", "PAUL", "M", "1980-05-23"))


async def test_a_professional_card_signature_is_accepted(
    http: httpx.AsyncClient, pki: TestPki, clock: FrozenClock, sim: InsiSimulator
) -> None:
    client = make_client(http, pki.signer_for("agent"), clock)
    assert (await client.search_with_traits(traits("MARTIN-TEST", "PAUL", "M", "1980-05-23"))).found
    assert sim.calls[-1].emitter == pki.identity("agent").national_id


@contextlib.asynccontextmanager
async def served(pki: TestPki) -> AsyncIterator[tuple[str, InsiSimulator]]:
    services = build_services(pki.directory)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(services.app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        # The socket already listens: connections wait in its backlog until uvicorn runs.
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/insi/", services.insi
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_over_a_real_socket(pki: TestPki) -> None:
    from datetime import UTC, datetime

    clock = FrozenClock(datetime.now(UTC))
    async with served(pki) as (url, sim), httpx.AsyncClient() as http:
        client = make_client(http, pki.signer_for("establishment"), clock, url)
        result = await client.search_with_vitale(
            insured_nir="180057505612342", birth_date="1980-05-23", birth_rank=1
        )
        assert result.identity is not None
        assert result.identity.traits.family_name == "MARTIN-TEST"
        sim.inject(SimFault.HTTP_500)
        with pytest.raises(Unavailable):
            await client.search_with_traits(traits("MARTIN-TEST", "PAUL", "M", "1980-05-23"))
