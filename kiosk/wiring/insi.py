"""The INSi client: its endpoint (the running world's simulator in simulation) and signer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.signing import Signer
from kiosk.wiring.signers import insi_signer, token_signer

if TYPE_CHECKING:
    from kiosk.insi.client import InsiClient

__all__ = ["insi_client", "insi_endpoint"]


@contextlib.asynccontextmanager
async def insi_client(
    settings: Settings,
    clock: Clock,
    facts: Mapping[str, object],
    *,
    shared_signer: Signer | None = None,
) -> AsyncIterator[InsiClient]:
    """The INSi client over its own HTTP client (TLS as configured).

    ``shared_signer`` is the DMP's ``ORG_SIGN`` session, used when ``insi.sign_token``
    names the same token (a process logs in to a token once).
    """
    from kiosk.insi.client import InsiClient
    from kiosk.insi.messages import LpsIdentity
    from kiosk.soap.transport import SoapClient, TlsSettings, build_http_client

    cfg = settings.insi
    site = settings.site
    async with contextlib.AsyncExitStack() as stack:
        if cfg.kind != "sim" and cfg.client_token:
            from kiosk.wiring.dmp import token_tls_client

            http = token_tls_client(
                settings,
                endpoint=cfg.endpoint,
                ca_file=cfg.ca_file,
                token=cfg.client_token,
                pin_file=cfg.client_pin_file,
                section="insi",
                timeout_s=cfg.timeout_s,
            )
        else:
            tls = TlsSettings(cfg.ca_file, cfg.client_cert, cfg.client_key)
            http = build_http_client(tls, timeout_s=cfg.timeout_s)
        await stack.enter_async_context(http)
        if cfg.kind != "sim" and cfg.sign_token:
            same = shared_signer is not None and cfg.sign_token == settings.dmp.sign_token
            signer = shared_signer if same and shared_signer is not None else None
            if signer is None:
                signer = await stack.enter_async_context(
                    token_signer(
                        settings, cfg.sign_token, cfg.sign_pin_file, setting="insi.sign_pin_file"
                    )
                )
        else:
            signer = insi_signer(settings)
        soap = SoapClient(
            http,
            insi_endpoint(settings, facts),
            "INSi",
            cfg.timeout_s,
            max_response_bytes=cfg.max_response_bytes,
        )
        lps = LpsIdentity(site.insi_authorisation, site.lps_name, site.lps_version, site.lps_id)
        yield InsiClient(soap, signer, lps, structure_id=site.establishment_id, clock=clock)


def insi_endpoint(settings: Settings, facts: Mapping[str, object]) -> str:
    """The INSi URL: the running world's simulator in simulation, else ``insi.endpoint``."""
    url = facts.get("insi_url") if settings.insi.kind == "sim" else None
    return url if isinstance(url, str) and url else settings.insi.endpoint
