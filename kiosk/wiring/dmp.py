"""The DMP client in indirect mode: its endpoint, its HTTP client (mutual TLS), its actor.

In simulation the DMP answers at the running world's ``dmp_url`` over plain HTTP;
otherwise at ``dmp.endpoint`` with the establishment's ``ORG_AUTH_CLI`` certificate: its
key on a PKCS#11 token (``dmp.client_token``, through the local proxy) on a production
kiosk, or a PEM pair in development.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.errors import ConfigError
from kiosk.locale import msg
from kiosk.signing import Signer

if TYPE_CHECKING:
    import httpx

    from kiosk.dmp.client import DmpClient
    from kiosk.domain.habilitation import HabilitationTable

__all__ = [
    "build_dmp_client",
    "build_dmp_http",
    "dmp_endpoint",
    "habilitation_table",
    "token_tls_client",
]

_ADMISSION = ("ADM", "1.2.250.1.213.1.1.4.6", "Personnel administratif")
"""Profession of the kiosk's admission agent in indirect mode (as ``kiosk dmp status``)."""


def habilitation_table(settings: Settings) -> HabilitationTable:
    """The pre-check's table: the site's file (``dmp.habilitations``), else the shipped one."""
    from kiosk.data import habilitations_text
    from kiosk.domain.habilitation import HabilitationTable

    path = settings.dmp.habilitations
    if path is None:
        return HabilitationTable.from_toml_text(habilitations_text())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            msg("wiring.dmp.habilitations_unreadable", path=path, strerror=exc.strerror),
            detail="dmp.habilitations",
        ) from exc
    return HabilitationTable.from_toml_text(text)


def dmp_endpoint(settings: Settings, facts: Mapping[str, object]) -> str:
    """The DMP URL: the running world's simulator in simulation, else ``dmp.endpoint``."""
    url = facts.get("dmp_url") if settings.dmp.kind == "sim" else None
    chosen = url if isinstance(url, str) and url else settings.dmp.endpoint
    return chosen.rstrip("/") + "/"


def build_dmp_http(settings: Settings, clock: Clock) -> httpx.AsyncClient:
    """The DMP's HTTP client: plain in simulation, mutual TLS with ``ORG_AUTH_CLI`` otherwise."""
    import httpx

    cfg = settings.dmp
    if cfg.kind == "sim":
        from kiosk.soap.transport import default_tls_context

        return httpx.AsyncClient(verify=default_tls_context(), timeout=httpx.Timeout(cfg.timeout_s))
    if cfg.client_token:
        return token_tls_client(
            settings,
            endpoint=cfg.endpoint,
            ca_file=cfg.ca_file,
            token=cfg.client_token,
            pin_file=cfg.client_pin_file,
            section="dmp",
            timeout_s=cfg.timeout_s,
        )
    if cfg.ca_file is None or cfg.client_cert is None or cfg.client_key is None:
        raise ConfigError(
            msg("wiring.dmp.build_dmp_http"),
            detail="dmp tls",
        )
    from kiosk.dmp.tls import MutualTls, indirect_mode_client

    tls = MutualTls(cfg.ca_file, cfg.client_cert, cfg.client_key)
    return indirect_mode_client(tls, now=clock.now(), timeout_s=cfg.timeout_s)


def build_dmp_client(
    settings: Settings,
    http: httpx.AsyncClient,
    signer: Signer,
    clock: Clock,
    *,
    facts: Mapping[str, object],
    agent: str = "KIOSK",
) -> DmpClient:
    """The DMP client in indirect mode for this establishment's admission ``agent``.

    Every call is first checked against the habilitation table (an ``admission`` role
    until :meth:`~kiosk.dmp.client.DmpClient.for_agent` names the person who acts).
    """
    from kiosk.dmp.client import DmpClient, DmpSettings
    from kiosk.dmp.vihf import Actor, AuthMode, Software
    from kiosk.dmp.vocabulary import CodedValue

    site = settings.site
    actor = Actor(
        issuer="",  # the client takes it from the signing certificate
        national_id=f"{site.establishment_id}/{agent}",
        display_name=f"{agent}, {site.establishment_name}",
        structure_id=site.establishment_id,
        sector="SA01",
        profession=CodedValue(*_ADMISSION),
        specialty=None,
        mode=AuthMode.INDIRECT,
    )
    return DmpClient(
        http,
        signer,
        actor=actor,
        software=Software(site.lps_id, site.lps_name, site.lps_version, site.dmp_homologation),
        clock=clock,
        settings=DmpSettings(dmp_endpoint(settings, facts), settings.dmp.sender_oid, site.lps_name),
        habilitations=habilitation_table(settings),
        role="admission",
    )


def token_tls_client(
    settings: Settings,
    *,
    endpoint: str,
    ca_file: Path | None,
    token: str,
    pin_file: Path | None,
    section: str,
    timeout_s: float,
) -> httpx.AsyncClient:
    """Mutual TLS with ``ORG_AUTH_CLI`` on the token ``token``, through the local proxy."""
    import httpx

    from kiosk.dmp.tls import CardTls, TokenTlsTransport
    from kiosk.wiring.signers import token_pin

    if ca_file is None:
        raise ConfigError(msg("wiring.dmp.token_ca", section=section), detail=f"{section}.ca_file")
    url = urlsplit(endpoint)
    tls = CardTls(
        module=settings.cards.pkcs11_module,
        token_label=token,
        ca_file=ca_file,
        host=url.hostname or "",
        port=url.port or 443,
        key_label="ORG_AUTH_CLI",
    )

    def pin() -> str:
        return token_pin(
            pin_file,
            setting=f"{section}.client_pin_file",
            required_by=f"{section}.client_token",
            what="ORG_AUTH_CLI",
        )

    return httpx.AsyncClient(transport=TokenTlsTransport(tls, pin), timeout=timeout_s)
