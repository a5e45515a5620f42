"""Local habilitation pre-check: which profession and role may ask the DMP for what.

DOMAIN.md §1 and §5: professionals with their own CPS consult and feed; admission staff
and secretaries (CPE card, or the establishment certificate in indirect mode) create and
feed but never consult. The DMP stays the authority — this table only spares calls that
are bound to be refused and explains the refusal at once. The rules are site data
(``kiosk/data/habilitations.toml``), parsed here from text so the domain does no I/O;
they must be checked against the official DMP habilitation matrix.

A rule allows, or (``effect = "deny"``) forbids; a deny rule wins over every allow
rule, so a prohibition the sources state (seed 001: a secretary never feeds the DMP in
direct mode with her CPE) stays one whatever allow rows a site adds. Each rule may
quote the sentence it follows (``source``); :meth:`HabilitationTable.decide` says
which rule decided, so a refusal can be explained by its source.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from kiosk.errors import AccessDenied, ConfigError, InvalidInput
from kiosk.locale import msg, text

__all__ = [
    "ANY",
    "AuthMode",
    "Decision",
    "DmpAction",
    "Effect",
    "HabilitationDenied",
    "HabilitationRule",
    "HabilitationTable",
    "Profile",
    "parse_action",
]

ANY = "*"
_E = TypeVar("_E", bound=StrEnum)


class DmpAction(StrEnum):
    """DMP transactions, numbered as the GIE SESAM-Vitale guide does (DOMAIN.md §6, verify)."""

    EXISTENCE_TEST = "TD0.2"
    AUTHORIZATION = "TD0.3"
    CREATION = "TD1.1"
    REACTIVATION = "TD1.2"
    ADMINISTRATIVE_UPDATE = "TD1.3"
    CLOSURE = "TD1.4"
    WEB_ACCOUNT = "TD1.5"
    SUBMISSION = "TD2.1"
    SEARCH = "TD3.1"
    RETRIEVAL = "TD3.2"
    ATTRIBUTE_UPDATE = "TD3.3a"
    DELETION = "TD3.3b"
    WRONG_RECORD_CORRECTION = "TD3.3c"

    @property
    def label_fr(self) -> str:
        """The action as a French user reads it."""
        return text(f"domain.habilitation.action.{self.name.lower()}", "fr")

    @property
    def label_en(self) -> str:
        """The action as an English user reads it."""
        return text(f"domain.habilitation.action.{self.name.lower()}", "en")


def parse_action(value: str) -> DmpAction:
    """A transaction by its number (``TD2.1``) or its name (``submission``), any case."""
    wanted = value.strip()
    for action in DmpAction:
        if wanted.upper() == action.value.upper() or wanted.lower() == action.name.lower():
            return action
    raise InvalidInput(
        msg(
            "domain.habilitation.unknown_action",
            value=wanted,
            expected=", ".join(a.value for a in DmpAction),
        ),
        detail=wanted,
    )


class AuthMode(StrEnum):
    """How the DMP authenticates the caller (DOMAIN.md §1)."""

    DIRECT = "direct"  # the person's own card (CPS or CPE) signs the VIHF
    INDIRECT = "indirect"  # the establishment certificate; the person is known locally


class Effect(StrEnum):
    """What a matching rule does; a deny rule wins over every allow rule."""

    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Profile:
    """Who asks, as the table sees them: G15 profession ('' without one), local role, mode."""

    profession_code: str
    role: str
    mode: AuthMode

    def __str__(self) -> str:
        return f"profession {self.profession_code or '-'}, {self.role or '-'}, {self.mode.value}"


class HabilitationDenied(AccessDenied):
    """The local table says this profile may not perform this DMP action."""

    code = "HABILITATION_DENIED"

    def __init__(
        self,
        action: DmpAction,
        profession_code: str,
        role: str,
        mode: AuthMode,
        *,
        rule: HabilitationRule | None = None,
    ) -> None:
        profile = str(Profile(profession_code, role, mode))
        label = msg(f"domain.habilitation.action.{action.name.lower()}")
        if rule is not None and rule.description:
            message = msg(
                "domain.habilitation.denied_by",
                label=label,
                action=action.value,
                profile=profile,
                rule=rule.description,
            )
        else:
            message = msg(
                "domain.habilitation.denied", label=label, action=action.value, profile=profile
            )
        super().__init__(message, detail=f"action={action.value} {profile}")
        self.action = action
        self.rule = rule
        """The deny rule that decided, or None when no rule allows the action."""


@dataclass(frozen=True)
class HabilitationRule:
    """One row of the table: these professions and roles, in these modes, may do these actions."""

    professions: frozenset[str]
    roles: frozenset[str]
    modes: frozenset[AuthMode]
    actions: frozenset[DmpAction]
    description: str = ""
    effect: Effect = Effect.ALLOW
    source: str = ""
    """The sentence of the sources this rule follows, quoted."""

    def matches(self, profession_code: str, role: str, mode: AuthMode, action: DmpAction) -> bool:
        """Whether this rule speaks of ``action`` for the profile (to allow or deny it)."""
        return (
            action in self.actions
            and mode in self.modes
            and (ANY in self.professions or profession_code in self.professions)
            and (ANY in self.roles or role in self.roles)
        )


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            msg("domain.habilitation.strings", where=where),
            detail=where,
        )
    return value


def _enum_values(kind: type[_E], value: Any, where: str) -> frozenset[_E]:
    items = _strings(value, where)
    try:
        return frozenset(kind(item) for item in items)
    except ValueError as exc:
        expected = ", ".join(member.value for member in kind)
        raise ConfigError(
            msg("domain.habilitation.enum_values", where=where, expected=expected),
            detail=where,
        ) from exc


_RULE_KEYS = frozenset(
    {"description", "source", "effect", "professions", "roles", "modes", "actions"}
)
_OPTIONAL_KEYS = frozenset({"description", "source", "effect"})


@dataclass(frozen=True)
class Decision:
    """What the table says of one request, and the rule that decided (None: no rule allows it)."""

    allowed: bool
    rule: HabilitationRule | None
    index: int | None
    """The rule's position in the table, from 1, as ``kiosk habilitations check`` prints it."""


@dataclass(frozen=True)
class HabilitationTable:
    """The rules; anything no rule allows is denied."""

    rules: tuple[HabilitationRule, ...]

    @classmethod
    def from_toml_text(cls, text: str) -> HabilitationTable:
        """Parse the table from TOML text (see ``kiosk/data/habilitations.toml``)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                msg("domain.habilitation.habilitation_table_from_toml_text", exc=exc),
                detail="toml",
            ) from exc
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> HabilitationTable:
        """Build the table from a mapping shaped like the TOML file (``rule`` = list of rules)."""
        unknown = sorted(set(data) - {"version", "rule"})
        if unknown:
            raise ConfigError(
                msg("domain.habilitation.habilitation_table_from_mapping", unknown=unknown[0]),
                detail=unknown[0],
            )
        raw_rules = data.get("rule", [])
        if not isinstance(raw_rules, list):
            raise ConfigError(
                msg("domain.habilitation.habilitation_table_from_mapping_2"),
                detail="rule",
            )
        rules = []
        for index, raw in enumerate(raw_rules):
            where = f"rule[{index}]"
            if not isinstance(raw, Mapping):
                raise ConfigError(
                    msg("domain.habilitation.habilitation_table_from_mapping_3", where=where),
                    detail=where,
                )
            extra = sorted(set(raw) - _RULE_KEYS)
            missing = sorted(_RULE_KEYS - _OPTIONAL_KEYS - set(raw))
            if extra or missing:
                key = (extra or missing)[0]
                state = (
                    msg("domain.habilitation.key_unknown")
                    if extra
                    else msg("domain.habilitation.key_missing")
                )
                raise ConfigError(
                    msg("domain.habilitation.bad_key", where=where, key=key, state=state),
                    detail=f"{where}.{key}",
                )
            description = raw.get("description", "")
            source = raw.get("source", "")
            for key, value in (("description", description), ("source", source)):
                if not isinstance(value, str):
                    raise ConfigError(
                        msg(
                            "domain.habilitation.habilitation_table_from_mapping_4",
                            where=f"{where}.{key}",
                        ),
                        detail=f"{where}.{key}",
                    )
            effect_value = raw.get("effect", Effect.ALLOW.value)
            try:
                effect = Effect(effect_value)
            except ValueError as exc:
                expected = ", ".join(member.value for member in Effect)
                raise ConfigError(
                    msg(
                        "domain.habilitation.enum_values",
                        where=f"{where}.effect",
                        expected=expected,
                    ),
                    detail=f"{where}.effect",
                ) from exc
            rules.append(
                HabilitationRule(
                    professions=frozenset(_strings(raw["professions"], f"{where}.professions")),
                    roles=frozenset(_strings(raw["roles"], f"{where}.roles")),
                    modes=_enum_values(AuthMode, raw["modes"], f"{where}.modes"),
                    actions=_enum_values(DmpAction, raw["actions"], f"{where}.actions"),
                    description=description,
                    effect=effect,
                    source=source,
                )
            )
        return cls(tuple(rules))

    def decide(
        self, profession_code: str, role: str, mode: AuthMode, action: DmpAction
    ) -> Decision:
        """Allowed or not, and by which rule: the first deny rule, else the first allow rule."""
        matching = [
            (index, rule)
            for index, rule in enumerate(self.rules, start=1)
            if rule.matches(profession_code, role, mode, action)
        ]
        for index, rule in matching:
            if rule.effect is Effect.DENY:
                return Decision(False, rule, index)
        for index, rule in matching:
            return Decision(True, rule, index)
        return Decision(False, None, None)

    def allowed(self, profession_code: str, role: str, mode: AuthMode, action: DmpAction) -> bool:
        """Whether a rule allows ``action`` for this profile and none denies it."""
        return self.decide(profession_code, role, mode, action).allowed

    def require(self, profession_code: str, role: str, mode: AuthMode, action: DmpAction) -> None:
        """Raise :class:`HabilitationDenied`, naming the action and the rule, unless allowed."""
        decision = self.decide(profession_code, role, mode, action)
        if not decision.allowed:
            raise HabilitationDenied(action, profession_code, role, mode, rule=decision.rule)

    def check(self, profile: Profile, action: DmpAction) -> None:
        """:meth:`require` for a :class:`Profile`: the kiosk's pre-check before a DMP call."""
        self.require(profile.profession_code, profile.role, profile.mode, action)
