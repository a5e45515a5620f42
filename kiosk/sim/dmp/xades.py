"""The simulated DMP's check of a TD2.1 submission set's XAdES signature (DOMAIN.md §6).

A submission is refused with the registry's failure, before anything is stored, when
its signature document (:mod:`kiosk.dmp.xades`) is missing, does not verify, was made
by a certificate the test CA did not issue, with an authentication key rather than a
signature key, or covers other metadata or documents than the ones sent. Inconsistent metadata is
reported first, with its own XDS code, by :class:`~kiosk.sim.dmp.documents.DocumentRegistry`.
"""

from __future__ import annotations

from lxml import etree

from kiosk.dmp.xades import verify_submission
from kiosk.dmp.xds import read_submission
from kiosk.errors import KioskError
from kiosk.sim.dmp.documents import RegistryOutcome
from kiosk.soap.wssec import TrustAnchor

__all__ = ["SIGNATURE_ERROR", "check_submission_signature"]

SIGNATURE_ERROR = "XDSRegistryError"
"""The registry's error code for a refused signature; the context says why."""


def check_submission_signature(
    request: etree._Element, trust: TrustAnchor
) -> RegistryOutcome | None:
    """``None`` when the submission set is validly signed, else the refusal to answer."""
    if read_submission(request).problems:
        return None  # metadata errors are the registry's first answer, with their own codes
    try:
        verify_submission(request, trust)
    except KioskError as exc:
        context = f"XAdES: {exc.message_en}"
        return RegistryOutcome(((SIGNATURE_ERROR, context),), "refused:XAdES")
    return None
