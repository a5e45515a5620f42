"""The patient's INS as the DMP messages carry it: HL7 CX ``matricule^^^&OID&ISO^NH``.

Builders take the domain's :class:`~kiosk.domain.ins.Ins` (whose ``hl7_cx()`` renders
this form, DOMAIN.md §6); readers turn what a message says back into an ``Ins``, so a
matricule with a wrong key or an unknown authority is refused by the same checks as
everywhere else in the product.
"""

from __future__ import annotations

import re

from kiosk.domain.ins import Ins
from kiosk.errors import IdentityError
from kiosk.locale import msg

__all__ = ["parse_cx"]

_CX = re.compile(r"^(?P<id>[0-9A-Za-z]{13,15})\^\^\^&(?P<oid>[0-9.]+)&ISO\^NH$")


def parse_cx(value: str) -> Ins:
    """The INS of ``matricule^^^&OID&ISO^NH``; IdentityError when malformed or invalid."""
    match = _CX.match(value.strip())
    if match is None:
        raise IdentityError(
            msg("dmp.cx.parse_cx"),
            detail=f"cx_malformed length={len(value)}",
        )
    return Ins.of(match["id"], match["oid"])
