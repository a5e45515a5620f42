"""Mutual TLS to the DMP: the establishment's ``ORG_AUTH_CLI`` certificate, or the agent's card.

Indirect mode (DOMAIN.md §5): the establishment authenticates with its ``ORG_AUTH_CLI``
software certificate — the **authentication** pair, never ``ORG_SIGN`` — through
Python's :mod:`ssl`, TLS 1.2 or later, the server checked against the configured CA.
The pair is checked when the client is built (readable, an authentication key usage,
valid now), so a misconfigured site fails at start with a message naming the file,
not at the first patient.

Direct mode needs the CPS/CPE card's authentication key, which never leaves the
card; :mod:`ssl` can only use a key it can read. The chosen path is a local TLS proxy:
``stunnel`` in client mode, its key loaded through OpenSSL's PKCS#11 engine (libp11,
Debian ``libengine-pkcs11-openssl``) from the same PKCS#11 module as
``kiosk/cards/cps.py``, listening on 127.0.0.1 with an ephemeral port; the
``DmpClient`` then speaks plain HTTP to the proxy, which is the only process holding
the TLS session. libcurl with a ``pkcs11:`` URI was the alternative; it would add a
Python dependency (pycurl) and a second HTTP stack beside httpx. Until the proxy is
built, :func:`direct_mode_transport` raises :class:`DirectTlsUnavailable`, and a kiosk
in direct mode signs with the card but authenticates TLS with ``ORG_AUTH_CLI``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from cryptography import x509

from kiosk.errors import ConfigError, Unavailable

__all__ = [
    "DirectTlsUnavailable",
    "MutualTls",
    "client_context",
    "direct_mode_transport",
    "indirect_mode_client",
]


@dataclass(frozen=True)
class MutualTls:
    """Trust for the DMP server and the client pair (``ORG_AUTH_CLI``) for indirect mode."""

    ca_file: Path
    client_cert: Path
    client_key: Path


class DirectTlsUnavailable(Unavailable):
    """Direct-mode TLS with the card's key is not available on this kiosk."""

    code = "DMP_DIRECT_TLS"
    retryable = False


def _config_error(path: Path, reason_fr: str, reason_en: str, detail: str) -> ConfigError:
    return ConfigError(
        f"Certificat TLS du DMP inutilisable ({path}) : {reason_fr}.",
        f"DMP TLS certificate unusable ({path}): {reason_en}.",
        detail=detail,
    )


def _check_authentication_certificate(path: Path, now: datetime) -> None:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise _config_error(path, "illisible", "unreadable", type(exc).__name__) from exc
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise _config_error(path, "hors validité", "expired or not yet valid", "validity")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if usage.content_commitment or not usage.digital_signature:
        # ORG_SIGN (non-repudiation) in place of ORG_AUTH_CLI: the DMP would refuse it.
        raise _config_error(
            path,
            "certificat de signature, pas d'authentification (ORG_AUTH_CLI attendu)",
            "a signature certificate, not an authentication one (ORG_AUTH_CLI expected)",
            "key usage",
        )


def client_context(tls: MutualTls, *, now: datetime) -> ssl.SSLContext:
    """An SSL context trusting ``ca_file`` and presenting the ``ORG_AUTH_CLI`` pair."""
    _check_authentication_certificate(tls.client_cert, now)
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    except (OSError, ssl.SSLError) as exc:
        raise _config_error(
            tls.client_key, "clé ou autorité illisible", "key or CA unreadable", str(exc)[:120]
        ) from exc
    return context


def indirect_mode_client(tls: MutualTls, *, now: datetime, timeout_s: float) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` for the DMP in indirect mode (mutual TLS, file key)."""
    return httpx.AsyncClient(verify=client_context(tls, now=now), timeout=httpx.Timeout(timeout_s))


def direct_mode_transport(module: Path, token_label: str) -> httpx.AsyncClient:
    """The TLS path with the card's key (the stunnel + PKCS#11 proxy); not built yet."""
    raise DirectTlsUnavailable(
        "Le TLS avec la carte n'est pas disponible sur cette borne ; "
        "utilisez le mode établissement.",
        "TLS with the card is not available on this kiosk; use the establishment mode.",
        detail=f"direct TLS proxy not built (module={module.name}, token={token_label!r})",
    )
