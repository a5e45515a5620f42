"""The lockout: repeated wrong passwords lock a name for a while, on the injected clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.agents import AgentLocked, AgentRefused, Guarded, LocalAgent, Lockout
from kiosk.clock import FrozenClock
from kiosk.errors import Unavailable

CLAIRE = LocalAgent("cmartin", "Claire", "MARTIN-TEST", "secretary", source="file")


class Scripted:
    """A directory that answers from a script: 'ok', 'no' or 'down', and counts its calls."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def authenticate(self, name: str, password: str) -> LocalAgent:
        self.calls += 1
        answer = self.answers.pop(0)
        if answer == "no":
            raise AgentRefused("refusé", "refused")
        if answer == "down":
            raise Unavailable("injoignable", "unreachable")
        return CLAIRE


@given(max_failures=st.integers(1, 8), extra=st.integers(0, 3))
def test_a_name_locks_at_the_configured_count(max_failures: int, extra: int) -> None:
    lockout = Lockout(FrozenClock(), max_failures=max_failures, lockout_s=60)
    for _ in range(max_failures - 1):
        assert not lockout.failed("cmartin")
        lockout.check("cmartin")  # not locked yet
    assert lockout.failed("CMartin")  # case-folded: the same name
    for _ in range(extra + 1):
        with pytest.raises(AgentLocked):
            lockout.check("cmartin")
    lockout.check("pdurand")  # another name is not concerned


async def test_locked_names_are_refused_without_asking_the_directory() -> None:
    clock = FrozenClock()
    directory = Scripted("no", "no", "no", "ok")
    guarded = Guarded(directory, Lockout(clock, max_failures=3, lockout_s=600))
    for _ in range(2):
        with pytest.raises(AgentRefused):
            await guarded.authenticate("cmartin", "wrong")
    with pytest.raises(AgentLocked) as locked:  # the third wrong password says it at once
        await guarded.authenticate("cmartin", "wrong")
    assert "10 min" in locked.value.message_fr
    with pytest.raises(AgentLocked):
        await guarded.authenticate("cmartin", "the right one")
    assert directory.calls == 3  # locked: the directory was not asked
    clock.advance(599)
    with pytest.raises(AgentLocked):
        await guarded.authenticate("cmartin", "the right one")
    clock.advance(1)
    assert await guarded.authenticate("cmartin", "the right one") == CLAIRE


async def test_a_success_clears_the_count_and_an_outage_is_not_counted() -> None:
    directory = Scripted("no", "no", "ok", "no", "down", "down", "no", "ok")
    guarded = Guarded(directory, Lockout(FrozenClock(), max_failures=3, lockout_s=600))
    for expected in (AgentRefused, AgentRefused):
        with pytest.raises(expected):
            await guarded.authenticate("cmartin", "x")
    await guarded.authenticate("cmartin", "y")
    with pytest.raises(AgentRefused):
        await guarded.authenticate("cmartin", "x")
    for _ in range(2):
        with pytest.raises(Unavailable):
            await guarded.authenticate("cmartin", "x")
    with pytest.raises(AgentRefused):  # two failures since the success: not locked
        await guarded.authenticate("cmartin", "x")
    assert await guarded.authenticate("cmartin", "y") == CLAIRE


@pytest.mark.parametrize("name", ["", " ", "a b", "*)(uid=*", "x" * 65, "é"])
async def test_a_name_that_is_no_account_name_is_bad_input(name: str) -> None:
    from kiosk.errors import InvalidInput

    directory = Scripted("ok")
    with pytest.raises(InvalidInput):
        await Guarded(directory, Lockout(FrozenClock())).authenticate(name, "pw")
    assert directory.calls == 0
