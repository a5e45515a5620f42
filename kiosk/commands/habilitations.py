"""``kiosk habilitations check``: what the kiosk's pre-check says of one DMP action, and why.

The same table and the same decision as the check the DMP client runs before every
call (``kiosk/wiring/dmp.py`` :func:`~kiosk.wiring.dmp.habilitation_table`): exit 0
when the profile may perform the action, 3 when it may not, with the rule that
decided and the sentence of the sources it follows.
"""

from __future__ import annotations

import click

from kiosk.commands.context import CliContext, emit
from kiosk.domain.habilitation import (
    AuthMode,
    Decision,
    DmpAction,
    Effect,
    Profile,
    parse_action,
)
from kiosk.locale import text

__all__ = ["habilitations"]

DENIED_EXIT = 3
"""Exit code of a refused action."""


@click.group()
def habilitations() -> None:
    """The local DMP habilitation table (checked before every DMP call)."""


@habilitations.command("check")
@click.argument("action")
@click.option(
    "--profession",
    default="",
    show_default=True,
    help='G15 profession code ("10" doctor, "60" nurse); empty for staff with a CPE.',
)
@click.option(
    "--role", required=True, help="Local role: professional, admission, secretary (site roles)."
)
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in AuthMode]),
    required=True,
    help="direct: the person's own CPS/CPE signs; indirect: the establishment's certificate.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def check(
    obj: CliContext, action: str, profession: str, role: str, mode: str, as_json: bool
) -> None:
    """Whether PROFESSION/ROLE in MODE may perform ACTION (TD2.1 or its name): exit 0 or 3."""
    from kiosk.wiring.dmp import habilitation_table

    wanted = parse_action(action)
    profile = Profile(profession.strip(), role.strip(), AuthMode(mode))
    decision = habilitation_table(obj.settings).decide(
        profile.profession_code, profile.role, profile.mode, wanted
    )
    emit(as_json, _data(decision, profile, wanted.value), _lines(decision, profile, wanted, obj))
    if not decision.allowed:
        raise SystemExit(DENIED_EXIT)


def _data(decision: Decision, profile: Profile, action: str) -> dict[str, object]:
    rule = decision.rule
    return {
        "allowed": decision.allowed,
        "action": action,
        "profession": profile.profession_code,
        "role": profile.role,
        "mode": profile.mode.value,
        "rule": None
        if rule is None
        else {
            "index": decision.index,
            "effect": rule.effect.value,
            "description": rule.description,
            "source": rule.source,
        },
    }


def _lines(decision: Decision, profile: Profile, action: DmpAction, obj: CliContext) -> str:
    lang = obj.lang
    label = action.label_fr if lang == "fr" else action.label_en
    key = "allowed" if decision.allowed else "denied"
    lines = [
        text(
            f"commands.habilitations.{key}",
            lang,
            label=label,
            action=action.value,
            profile=str(profile),
        )
    ]
    rule = decision.rule
    if rule is None:
        lines.append(text("commands.habilitations.no_rule", lang))
    else:
        effect = "rule_deny" if rule.effect is Effect.DENY else "rule_allow"
        lines.append(
            text(
                f"commands.habilitations.{effect}",
                lang,
                index=decision.index,
                description=rule.description,
            )
        )
        if rule.source:
            lines.append(text("commands.habilitations.source", lang, source=rule.source))
    return "\n".join(lines)
