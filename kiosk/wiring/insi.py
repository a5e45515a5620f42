"""The INSi client: its endpoint (the running world's simulator in simulation) and signer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.wiring.signers import insi_signer

if TYPE_CHECKING:
    from kiosk.insi.client import InsiClient

__all__ = ["insi_client", "insi_endpoint"]


@contextlib.asynccontextmanager
async def insi_client(
    settings: Settings, clock: Clock, facts: Mapping[str, object]
) -> AsyncIterator[InsiClient]:
    """The INSi client over its own HTTP client (TLS as configured)."""
    from kiosk.insi.client import InsiClient
    from kiosk.insi.messages import LpsIdentity
    from kiosk.soap.transport import SoapClient, TlsSettings, build_http_client

    cfg = settings.insi
    site = settings.site
    tls = TlsSettings(cfg.ca_file, cfg.client_cert, cfg.client_key)
    async with build_http_client(tls, timeout_s=cfg.timeout_s) as http:
        soap = SoapClient(
            http,
            insi_endpoint(settings, facts),
            "INSi",
            cfg.timeout_s,
            max_response_bytes=cfg.max_response_bytes,
        )
        lps = LpsIdentity(site.insi_authorisation, site.lps_name, site.lps_version, site.lps_id)
        yield InsiClient(
            soap, insi_signer(settings), lps, structure_id=site.establishment_id, clock=clock
        )


def insi_endpoint(settings: Settings, facts: Mapping[str, object]) -> str:
    """The INSi URL: the running world's simulator in simulation, else ``insi.endpoint``."""
    url = facts.get("insi_url") if settings.insi.kind == "sim" else None
    return url if isinstance(url, str) and url else settings.insi.endpoint
