"""PKCS#11 access (the only importer of ``pkcs11``): CPS/CPE cards and device tokens.

``library`` loads each module once and maps its errors, ``card`` logs in to a CPS/CPE
card and signs with it, ``device_key`` holds a token's AES-256 key for the outbox.
"""

from __future__ import annotations

from kiosk.cards.pin import PinState, PinStatus
from kiosk.cards.pkcs11.card import (
    AUTHENTICATION_ID_SUFFIX,
    SIGNATURE_ID_SUFFIX,
    CpsModule,
    CpsSession,
    Pkcs11Signer,
    TokenInfo,
    TokenNotFound,
)
from kiosk.cards.pkcs11.device_key import SealedDataRejected, SecretKeyNotFound, TokenSecretKey
from kiosk.cards.professional import ProfessionalIdentity

__all__ = [
    "AUTHENTICATION_ID_SUFFIX",
    "SIGNATURE_ID_SUFFIX",
    "CpsModule",
    "CpsSession",
    "PinState",
    "PinStatus",
    "Pkcs11Signer",
    "ProfessionalIdentity",
    "SealedDataRejected",
    "SecretKeyNotFound",
    "TokenInfo",
    "TokenNotFound",
    "TokenSecretKey",
]
