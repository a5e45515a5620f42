"""The local DMP habilitation table, loaded from the shipped data (DOMAIN.md §1, §5).

The kiosk's pre-check and the simulated DMP read the same file, so a wrong row would
pass every test that runs one against the other. These tests are written from the
sources instead: each one quotes the sentence of the seed it encodes (seed 001, the
DMP guide for establishments; seed 000), and asks the shipped table what the
sentence says.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.data import habilitations_text
from kiosk.domain.habilitation import (
    AuthMode,
    DmpAction,
    Effect,
    HabilitationDenied,
    HabilitationRule,
    HabilitationTable,
    Profile,
    parse_action,
)
from kiosk.errors import AccessDenied, ConfigError, InvalidInput

# -- the sentences of the sources, verbatim -----------------------------------

SECRETARY_NOT_DIRECT = (
    "une secrétaire médicale ne peut pas ajouter des documents dans le DMP en "
    "authentification directe par carte CPE"
)
"""Seed 001, « Alimentation du DMP »."""
SECRETARY_ONLY_INDIRECT = (
    "par une secrétaire médicale ou toute autre personne habilitée par l’établissement, "
    "uniquement en authentification indirecte (via un certificat de ‘‘personne morale’’, "
    "donc sous la responsabilité du chef d’établissement)"
)
"""Seed 001, the same passage: how secretaries do feed the DMP."""
CREATION_BY_CPS_OR_CPE = (
    "La création du DMP peut être faite par tout professionnel de santé ou personnel "
    "d’établissement authentifié par une carte CPS/CPE, ou authentifié sous la "
    "responsabilité du chef d’établissement (usage d’un certificat de ‘‘personne morale’’)"
)
"""Seed 001, « Création du DMP »."""
FEEDING_BY_CPS_OR_ESTABLISHMENT = (
    "L’alimentation du DMP peut être effectuée : soit par le professionnel de santé "
    "authentifié avec sa CPS ; soit par tout personnel d’établissement authentifié sous la "
    "responsabilité de l’établissement au moyen d’un certificat dit de ‘‘personne morale’’."
)
"""Seed 001, fiche 5 « Usage pour les accès au DMP »."""
CONSULTATION_BY_CPS_ONLY = (
    "La consultation des DMP ne peut être effectuée que par un professionnel de santé et "
    "nécessite l’usage d’une CPS individuelle."
)
"""Seed 001, fiche 5."""
NAMED_LOCALLY = (
    "L'accès au DMP nécessite une identification nominative, il faut donc que le PS "
    "s’authentifie localement, dans le LPS."
)
"""Seed 000, « Identification — Indirecte »."""

FEEDING = (
    DmpAction.SUBMISSION,
    DmpAction.ATTRIBUTE_UPDATE,
    DmpAction.DELETION,
    DmpAction.WRONG_RECORD_CORRECTION,
)
"""What « ajouter des documents » covers here: the document writes of the feeding profile."""
CONSULT = (DmpAction.SEARCH, DmpAction.RETRIEVAL)
CREATION = (
    DmpAction.EXISTENCE_TEST,
    DmpAction.AUTHORIZATION,
    DmpAction.CREATION,
    DmpAction.WEB_ACCOUNT,
)
"""Creating a DMP at the desk: its existence test, our authorization, TD1.1, the web account."""
STAFF_ROLES = ("admission", "secretary")
"""Establishment staff without a health profession (a CPE, G15 profession empty)."""
PROFESSIONS = ("10", "21", "40", "50", "60", "69", "70", "80")


@pytest.fixture(scope="module")
def table() -> HabilitationTable:
    return HabilitationTable.from_toml_text(habilitations_text())


# -- seed 001: secretaries never feed in direct mode --------------------------


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("action", FEEDING)
def test_a_secretary_never_adds_documents_with_her_cpe_in_direct_mode(
    table: HabilitationTable, role: str, action: DmpAction
) -> None:
    """Seed 001: « une secrétaire médicale ne peut pas ajouter des documents dans le DMP en
    authentification directe par carte CPE »."""
    assert "ne peut pas ajouter des documents" in SECRETARY_NOT_DIRECT
    decision = table.decide("", role, AuthMode.DIRECT, action)
    assert not decision.allowed
    assert decision.rule is not None
    assert decision.rule.effect is Effect.DENY
    assert SECRETARY_NOT_DIRECT in decision.rule.source  # the refusal quotes its source


@given(role=st.text(max_size=20), action=st.sampled_from(FEEDING))
def test_no_role_without_a_health_profession_feeds_in_direct_mode(
    role: str, action: DmpAction
) -> None:
    """Seed 001, fiche 5: « L’alimentation du DMP peut être effectuée : soit par le
    professionnel de santé authentifié avec sa CPS ; soit par tout personnel d’établissement
    authentifié sous la responsabilité de l’établissement [...] » — with a CPE, never."""
    table = HabilitationTable.from_toml_text(habilitations_text())
    assert not table.allowed("", role, AuthMode.DIRECT, action)


@given(
    extra=st.builds(
        HabilitationRule,
        professions=st.just(frozenset({"*"})),
        roles=st.just(frozenset({"*"})),
        modes=st.just(frozenset(AuthMode)),
        actions=st.frozensets(st.sampled_from(list(DmpAction)), min_size=1),
    ),
    role=st.sampled_from(STAFF_ROLES),
)
def test_a_site_row_cannot_lift_the_prohibition(extra: HabilitationRule, role: str) -> None:
    """Seed 001: « ne peut pas ajouter des documents dans le DMP en authentification directe
    par carte CPE » stays true whatever allow rows a site appends: a deny rule wins."""
    shipped = HabilitationTable.from_toml_text(habilitations_text())
    widened = HabilitationTable((*shipped.rules, extra))
    assert not widened.allowed("", role, AuthMode.DIRECT, DmpAction.SUBMISSION)


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("action", FEEDING)
def test_secretaries_feed_through_the_establishment_certificate(
    table: HabilitationTable, role: str, action: DmpAction
) -> None:
    """Seed 001: « par une secrétaire médicale ou toute autre personne habilitée par
    l’établissement, uniquement en authentification indirecte (via un certificat de
    ‘‘personne morale’’ [...]) »."""
    assert "uniquement en authentification indirecte" in SECRETARY_ONLY_INDIRECT
    assert table.allowed("", role, AuthMode.INDIRECT, action)


# -- seed 001: creation by any CPS/CPE holder stays allowed --------------------


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("action", CREATION)
def test_staff_with_a_cpe_create_the_dmp(
    table: HabilitationTable, role: str, action: DmpAction
) -> None:
    """Seed 001: « La création du DMP peut être faite par tout professionnel de santé ou
    personnel d’établissement authentifié par une carte CPS/CPE »."""
    assert "personnel d’établissement authentifié par une carte CPS/CPE" in CREATION_BY_CPS_OR_CPE
    decision = table.decide("", role, AuthMode.DIRECT, action)
    assert decision.allowed
    assert decision.rule is not None
    assert "CPS/CPE" in decision.rule.source


@pytest.mark.parametrize("profession", PROFESSIONS)
def test_professionals_with_their_cps_create_the_dmp(
    table: HabilitationTable, profession: str
) -> None:
    """Seed 001: « La création du DMP peut être faite par tout professionnel de santé [...]
    authentifié par une carte CPS/CPE »."""
    for action in CREATION:
        assert table.allowed(profession, "professional", AuthMode.DIRECT, action)


@pytest.mark.parametrize("role", ["admission", "secretary", "professional"])
def test_creation_under_the_establishment_certificate(table: HabilitationTable, role: str) -> None:
    """Seed 001: « ou authentifié sous la responsabilité du chef d’établissement (usage d’un
    certificat de ‘‘personne morale’’) »."""
    for action in CREATION:
        assert table.allowed("", role, AuthMode.INDIRECT, action)


# -- seed 001, fiche 5: feeding and consultation -------------------------------


@pytest.mark.parametrize("profession", PROFESSIONS)
def test_professionals_feed_with_their_cps(table: HabilitationTable, profession: str) -> None:
    """Seed 001: « soit par le professionnel de santé authentifié avec sa CPS »."""
    assert "soit par le professionnel de santé authentifié avec sa CPS" in (
        FEEDING_BY_CPS_OR_ESTABLISHMENT
    )
    assert table.allowed(profession, "professional", AuthMode.DIRECT, DmpAction.SUBMISSION)


@pytest.mark.parametrize("profession", PROFESSIONS)
def test_professionals_consult_with_their_cps(table: HabilitationTable, profession: str) -> None:
    """Seed 001: « La consultation des DMP ne peut être effectuée que par un professionnel de
    santé et nécessite l’usage d’une CPS individuelle. »"""
    for action in CONSULT:
        assert table.allowed(profession, "professional", AuthMode.DIRECT, action)


@pytest.mark.parametrize(
    ("profession", "role", "mode"),
    [
        ("", "admission", AuthMode.DIRECT),
        ("", "secretary", AuthMode.DIRECT),
        ("", "admission", AuthMode.INDIRECT),
        ("", "secretary", AuthMode.INDIRECT),
        ("10", "professional", AuthMode.INDIRECT),  # a doctor, but no individual CPS
    ],
)
def test_nobody_consults_without_an_individual_cps(
    table: HabilitationTable, profession: str, role: str, mode: AuthMode
) -> None:
    """Seed 001: « La consultation des DMP ne peut être effectuée que par un professionnel de
    santé et nécessite l’usage d’une CPS individuelle. »"""
    assert "nécessite l’usage d’une CPS individuelle" in CONSULTATION_BY_CPS_ONLY
    for action in CONSULT:
        assert not table.allowed(profession, role, mode, action)


def test_indirect_rows_say_the_person_is_named_locally(table: HabilitationTable) -> None:
    """Seed 000: « L'accès au DMP nécessite une identification nominative, il faut donc que le
    PS s’authentifie localement »: the indirect row quotes it, the agents module enforces it."""
    decision = table.decide("", "secretary", AuthMode.INDIRECT, DmpAction.SUBMISSION)
    assert decision.rule is not None
    assert "identification nominative" in NAMED_LOCALLY
    assert "identification nominative" in decision.rule.source


def test_unknown_profile_is_denied_everything(table: HabilitationTable) -> None:
    assert not any(table.allowed("", "visitor", AuthMode.DIRECT, action) for action in DmpAction)


def test_require_names_the_refused_action(table: HabilitationTable) -> None:
    table.require("10", "professional", AuthMode.DIRECT, DmpAction.RETRIEVAL)
    with pytest.raises(HabilitationDenied) as caught:
        table.require("", "admission", AuthMode.INDIRECT, DmpAction.RETRIEVAL)
    assert isinstance(caught.value, AccessDenied)
    assert caught.value.code == "HABILITATION_DENIED"
    assert caught.value.action is DmpAction.RETRIEVAL
    assert caught.value.rule is None
    assert "consultation de document (TD3.2)" in caught.value.message_fr
    assert "document retrieval (TD3.2)" in caught.value.message_en


def test_a_refusal_by_a_deny_rule_names_the_rule(table: HabilitationTable) -> None:
    with pytest.raises(HabilitationDenied) as caught:
        table.check(Profile("", "secretary", AuthMode.DIRECT), DmpAction.SUBMISSION)
    assert caught.value.rule is not None
    assert "envoi de document (TD2.1)" in caught.value.message_fr
    assert caught.value.rule.description in caught.value.message_fr
    assert "profession -, secretary, direct" in caught.value.message_en


@pytest.mark.parametrize(
    ("typed", "action"),
    [
        ("TD2.1", DmpAction.SUBMISSION),
        ("td3.3c", DmpAction.WRONG_RECORD_CORRECTION),
        ("submission", DmpAction.SUBMISSION),
        (" Creation ", DmpAction.CREATION),
    ],
)
def test_an_action_by_number_or_name(typed: str, action: DmpAction) -> None:
    assert parse_action(typed) is action


def test_an_unknown_action_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_action("TD9.9")
    assert "TD2.1" in caught.value.message_en


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
        (
            '[[rule]]\nprofessions=["10"]\nroles=["*"]\nmodes=["direct"]\nactions=[]\neffect="maybe"',
            "rule[0].effect",
        ),
        (
            '[[rule]]\nprofessions=["10"]\nroles=["*"]\nmodes=["direct"]\nactions=[]\nsource=1',
            "rule[0].source",
        ),
        ("rules = 1", "rules"),
        ("rule = [", "toml"),
    ],
)
def test_malformed_table_names_the_key(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        HabilitationTable.from_toml_text(text)
    assert caught.value.detail == where
