"""INSi vocabulary as data: namespaces, WS-Addressing actions, header versions, result codes.

Sources (DOMAIN.md §4): the CNAM « Téléservice INSi » guide is licensed (GIE
SESAM-Vitale industrial space), so what is here comes from public open-source INSi
clients and their recorded exchanges. Each value says whether it was seen there
(*seen*) or is this project's guess, to be checked against the official guide before
a CNDA session (**verify**). A site overrides any of them with
:func:`dataclasses.replace` on :data:`INSI`; the client and the simulator read only
this object.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["INSI", "InsiProtocol", "ResultCode"]


class ResultCode(StrEnum):
    """``CodeCR`` of a RESULTAT (DOMAIN.md §4)."""

    ONE = "00"
    """Exactly one identity: INS, OID, traits and history."""
    NONE = "01"
    """No identity for these traits."""
    SEVERAL = "02"
    """Several identities: the agent must refine the search, never pick one."""


@dataclass(frozen=True)
class InsiProtocol:
    """Every protocol constant of INSi, in one replaceable value."""

    ns_recsans: str = "http://www.cnamts.fr/INSiRecSans"
    """*seen* — body of the search with traits (``RECSANSVITALE``)."""
    ns_recvit: str = "http://www.cnamts.fr/INSiRecVit"
    """*seen* (namespace declaration only) — body of the search with the Vitale card."""
    ns_verif: str = "http://www.cnamts.fr/INSiVerif"
    """**verify** — body of the verification of a known INS."""
    ns_resultat: str = "http://www.cnamts.fr/INSiResultat"
    """*seen* — ``RESULTAT`` of every operation."""
    ns_ctxlps: str = "urn:siram:lps:ctxlps"
    """*seen* — ``ContexteLPS`` header."""
    ns_ctxbam: str = "urn:siram:bam:ctxbam"
    """*seen* — ``ContexteBAM`` header."""
    ns_siram: str = "urn:siram"
    """*seen* (declaration) — fault details; the ``Erreur`` element layout is **verify**."""
    action_prefix: str = "urn:ServiceIdentiteCertifiee:1.0.0:"
    """*seen*."""
    op_traits: str = "rechercherInsAvecTraitsIdentite"
    """*seen*."""
    op_vitale: str = "rechercherInsAvecCarteVitale"
    """**verify**."""
    op_verify: str = "verifierIdentite"
    """**verify**."""
    el_traits: str = "RECSANSVITALE"
    """*seen*."""
    el_vitale: str = "RECVITALE"
    """**verify** — the real request carries the GIE's Vitale assertion; ours the card data."""
    el_verify: str = "VERIFICATION"
    """**verify**."""
    ctxlps_nature: str = "CTXLPS"
    ctxlps_version: str = "01_00"
    """*seen*."""
    ctxbam_version: str = "01_02"
    """*seen*."""
    idam_r: str = "4"
    """*seen* — qualifier of the ``IDAM`` (CNDA authorisation number) element."""
    lps_name_prefix: str = "urn:lps:"
    """*seen* — ``Nom`` is ``urn:lps:<software>:<version>``."""

    def action(self, operation: str) -> str:
        """The WS-Addressing ``Action`` of ``operation``."""
        return f"{self.action_prefix}{operation}"


INSI = InsiProtocol()
"""The constants in use."""
