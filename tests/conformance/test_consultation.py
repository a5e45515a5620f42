"""TD3.1 search (ITI-18) and TD3.2 retrieval (ITI-43): the simulator's answers, against XDS.b/ebRS.

The kiosk does not consult (admission desks feed, they do not read), so these are the
simulated DMP's answers to the requests of ``tests/sim``'s desk.
"""

from __future__ import annotations

from kiosk.dmp.transactions import CreationRequest
from kiosk.sim.dmp.queries import QUERY_TRANSACTIONS
from kiosk.sim.schemas import SchemaChecker
from kiosk.soap.envelope import Envelope
from tests.sim.dmp_desk import (
    PATIENT,
    TRAITS,
    Desk,
    desk,
    full_consent,
    pki,
    sample_submission,
    submit,
)
from tests.sim.dmp_requests import find_request, retrieve_request

__all__ = ["desk", "pki"]


def _errors(checker: SchemaChecker, answer: Envelope) -> list[str]:
    return checker.errors(answer.root, answer.payload)


async def test_search_and_retrieval_answers_are_schema_valid(
    desk: Desk, checker: SchemaChecker
) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    submission = sample_submission("c1", doc="c1")
    assert (await submit(desk, submission))[0]
    answers = []
    for body in (find_request(), retrieve_request(submission.document_unique_id)):
        action = QUERY_TRANSACTIONS[body.tag][0]
        envelope = desk.wrap(body, action, PATIENT)
        assert _errors(checker, Envelope("", "", "", [], body, envelope)) == []
        answers.append(await desk.soap.call(envelope, action=action))
    names = [answer.payload.tag.rpartition("}")[2] for answer in answers]
    assert names == ["AdhocQueryResponse", "RetrieveDocumentSetResponse"]
    assert {name: _errors(checker, a) for name, a in zip(names, answers, strict=True)} == {
        name: [] for name in names
    }


async def test_the_kiosks_own_search_request_is_schema_valid_and_answered(
    desk: Desk, checker: SchemaChecker
) -> None:
    """``kiosk/dmp/query.py`` builds TD3.1 from IHE ITI TF-2a §3.18, not from the test's."""
    from kiosk.dmp.query import build_find_documents, read_find_documents

    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    submission = sample_submission("q1", doc="q1")
    assert (await submit(desk, submission))[0]
    body = build_find_documents(PATIENT)
    action = QUERY_TRANSACTIONS[body.tag][0]
    envelope = desk.wrap(body, action, PATIENT)
    assert _errors(checker, Envelope("", "", "", [], body, envelope)) == []
    answer = await desk.soap.call(envelope, action=action)
    (found,) = read_find_documents(answer.payload)
    assert found.unique_id == submission.document_unique_id
