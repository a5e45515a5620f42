"""The local DMP habilitation table, loaded from the shipped data (DOMAIN.md §1, §5)."""

from __future__ import annotations

import pytest

from kiosk.data import habilitations_text
from kiosk.domain.habilitation import AuthMode, DmpAction, HabilitationDenied, HabilitationTable
from kiosk.errors import AccessDenied, ConfigError

CONSULT = (DmpAction.SEARCH, DmpAction.RETRIEVAL)
CREATE_AND_FEED = (
    DmpAction.EXISTENCE_TEST,
    DmpAction.AUTHORIZATION,
    DmpAction.CREATION,
    DmpAction.WEB_ACCOUNT,
    DmpAction.SUBMISSION,
    DmpAction.WRONG_RECORD_CORRECTION,
)


@pytest.fixture(scope="module")
def table() -> HabilitationTable:
    return HabilitationTable.from_toml_text(habilitations_text())


@pytest.mark.parametrize("profession", ["10", "21", "60"])
def test_professionals_with_their_cps_consult_and_feed(
    table: HabilitationTable, profession: str
) -> None:
    for action in (*CONSULT, DmpAction.SUBMISSION, DmpAction.CREATION):
        assert table.allowed(profession, "professional", AuthMode.DIRECT, action)


@pytest.mark.parametrize("role", ["admission", "secretary"])
def test_admission_staff_with_a_cpe_create_and_feed_but_never_consult(
    table: HabilitationTable, role: str
) -> None:
    for action in CREATE_AND_FEED:
        assert table.allowed("", role, AuthMode.DIRECT, action)
    for action in CONSULT:
        assert not table.allowed("", role, AuthMode.DIRECT, action)


def test_establishment_in_indirect_mode_creates_and_feeds_but_never_consults(
    table: HabilitationTable,
) -> None:
    for action in CREATE_AND_FEED:
        assert table.allowed("10", "professional", AuthMode.INDIRECT, action)
    for action in CONSULT:
        assert not table.allowed("10", "professional", AuthMode.INDIRECT, action)


def test_unknown_profile_is_denied_everything(table: HabilitationTable) -> None:
    assert not any(table.allowed("", "visitor", AuthMode.DIRECT, action) for action in DmpAction)


def test_require_names_the_refused_action(table: HabilitationTable) -> None:
    table.require("10", "professional", AuthMode.DIRECT, DmpAction.RETRIEVAL)
    with pytest.raises(HabilitationDenied) as caught:
        table.require("", "admission", AuthMode.INDIRECT, DmpAction.RETRIEVAL)
    assert isinstance(caught.value, AccessDenied)
    assert caught.value.code == "HABILITATION_DENIED"
    assert caught.value.action is DmpAction.RETRIEVAL
    assert "consultation de document (TD3.2)" in caught.value.message_fr
    assert "document retrieval (TD3.2)" in caught.value.message_en


def test_table_from_a_mapping_with_wildcards() -> None:
    table = HabilitationTable.from_mapping(
        {
            "rule": [
                {"professions": ["*"], "roles": ["*"], "modes": ["indirect"], "actions": ["TD2.1"]}
            ]
        }
    )
    assert table.allowed("60", "anyone", AuthMode.INDIRECT, DmpAction.SUBMISSION)
    assert not table.allowed("60", "anyone", AuthMode.DIRECT, DmpAction.SUBMISSION)
    assert not HabilitationTable.from_mapping({}).allowed(
        "10", "x", AuthMode.DIRECT, DmpAction.SEARCH
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            '[[rule]]\nprofessions=["10"]\nroles=["*"]\nmodes=["direct"]\nactions=["TD9.9"]',
            "rule[0].actions",
        ),
        (
            '[[rule]]\nprofessions=["10"]\nroles=["*"]\nmodes=["remote"]\nactions=["TD2.1"]',
            "rule[0].modes",
        ),
        ('[[rule]]\nprofessions=["10"]\nroles=["*"]\nmodes=["direct"]', "rule[0].actions"),
        (
            '[[rule]]\nprofessions="10"\nroles=["*"]\nmodes=["direct"]\nactions=["TD2.1"]',
            "rule[0].professions",
        ),
        (
            '[[rule]]\nprofessions=["10"]\nroles=["*"]\nmodes=["direct"]\nactions=[]\ncolour="red"',
            "rule[0].colour",
        ),
        ("rules = 1", "rules"),
        ("rule = [", "toml"),
    ],
)
def test_malformed_table_names_the_key(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        HabilitationTable.from_toml_text(text)
    assert caught.value.detail == where
