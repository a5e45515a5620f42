"""The person a session names at the DMP: their VIHF subject, their role, their outbox items.

Seed 000: « L'accès au DMP nécessite une identification nominative, il faut donc que le
PS s’authentifie localement ». In indirect mode the establishment's certificate signs,
but the VIHF's subject and every audit line name the agent who logged in locally
(:func:`named_identity`); a DMP write queued in the outbox carries that agent
(:mod:`kiosk.services.agent_outbox`), so the worker's VIHF names them too.
"""

from __future__ import annotations

from kiosk.agents.ports import LocalAgent
from kiosk.cards.professional import ProfessionalIdentity

__all__ = ["named_identity", "table_role"]


def named_identity(establishment: ProfessionalIdentity, agent: LocalAgent) -> ProfessionalIdentity:
    """The session's identity in indirect mode: the agent, in the establishment's structure."""
    structure = establishment.structure_id or establishment.national_id
    return ProfessionalIdentity(
        national_id=f"{structure}/{agent.login}",
        given_name=agent.given_name,
        family_name=agent.family_name,
        profession_code=agent.profession_code,
        role=agent.role,
        specialty="",
        structure_id=structure,
        sector=establishment.sector,
        organisation=establishment.organisation,
    )


def table_role(identity: ProfessionalIdentity) -> str:
    """The habilitation table's role of a session: professional, secretary or admission."""
    if identity.profession_code or identity.role == "professional":
        return "professional"
    return "secretary" if identity.role == "secretary" else "admission"
