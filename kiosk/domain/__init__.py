"""The pure core: parsing, validation, value objects and rules; no I/O, standard library only.

Submodules are the reference (``kiosk.domain.nir``, ``ins``, ``datamatrix``, ``consent``,
``visibility``, ``habilitation``); the names most callers need are re-exported here.
"""

from __future__ import annotations

from kiosk.domain.consent import (
    Consent,
    ConsentError,
    ConsentRecord,
    InformationChannel,
    InformationGiven,
)
from kiosk.domain.datamatrix import (
    DataMatrixError,
    InsDataMatrix,
    build_payload,
    parse_payload,
    payload_for,
)
from kiosk.domain.habilitation import AuthMode, DmpAction, HabilitationDenied, HabilitationTable
from kiosk.domain.ins import (
    OID_INS_NIA,
    OID_INS_NIR,
    OID_INS_NIR_DEMO,
    OID_INS_NIR_TEST,
    Identity,
    IdentityNotQualified,
    IdentityStatus,
    Ins,
    InsEnvironment,
    Sex,
    StrictTraits,
    Trait,
    TraitDifference,
    check_oid_allowed,
    compare_traits,
    normalise_name,
    status_from,
)
from kiosk.domain.nir import Nir, NirError, NirKind, NirReason, is_valid, nir_key
from kiosk.domain.visibility import Visibility

__all__ = [
    "OID_INS_NIA",
    "OID_INS_NIR",
    "OID_INS_NIR_DEMO",
    "OID_INS_NIR_TEST",
    "AuthMode",
    "Consent",
    "ConsentError",
    "ConsentRecord",
    "DataMatrixError",
    "DmpAction",
    "HabilitationDenied",
    "HabilitationTable",
    "Identity",
    "IdentityNotQualified",
    "IdentityStatus",
    "InformationChannel",
    "InformationGiven",
    "Ins",
    "InsDataMatrix",
    "InsEnvironment",
    "Nir",
    "NirError",
    "NirKind",
    "NirReason",
    "Sex",
    "StrictTraits",
    "Trait",
    "TraitDifference",
    "Visibility",
    "build_payload",
    "check_oid_allowed",
    "compare_traits",
    "is_valid",
    "nir_key",
    "normalise_name",
    "parse_payload",
    "payload_for",
    "status_from",
]
