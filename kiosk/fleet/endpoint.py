"""Where and as whom the kiosk checks in: the server, the tenant, the controller id, the token.

hawkBit's "DDI API Authentication Modes" (``docs/authentication.md``): the target's own
security token goes in ``Authorization: TargetToken <token>``; a gateway's, which "allows
to act *in the name of* any device" of the tenant, in ``Authorization: GatewayToken
<token>``. The token lives in a 0600 file, is read once and never logged.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from kiosk.config import FleetConfig, Settings
from kiosk.errors import ConfigError
from kiosk.locale import msg

__all__ = ["DdiEndpoint", "controller_id", "endpoint_from_settings", "read_token"]


@dataclass(frozen=True)
class DdiEndpoint:
    """A controller's root resource and its credentials."""

    url: str
    tenant: str
    controller_id: str
    token: str = field(repr=False)
    auth: Literal["target", "gateway"] = "target"

    @property
    def root(self) -> str:
        """``{url}/{tenant}/controller/v1/{controllerId}``."""
        tenant, controller = quote(self.tenant, safe=""), quote(self.controller_id, safe="")
        return f"{self.url.rstrip('/')}/{tenant}/controller/v1/{controller}"

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header's value."""
        scheme = "GatewayToken" if self.auth == "gateway" else "TargetToken"
        return f"{scheme} {self.token}"


def read_token(path: Path | None) -> str:
    """The token in the 0600 file ``path`` (``fleet.token_file``)."""
    if path is None:
        raise ConfigError(msg("fleet.token_missing"), detail="fleet.token_file")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                msg("fleet.token_mode", path=path, mode=mode), detail="fleet.token_file"
            )
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            msg("fleet.token_unreadable", path=path, reason=exc.strerror or type(exc).__name__),
            detail="fleet.token_file",
        ) from exc
    if not token or any(c.isspace() for c in token):
        raise ConfigError(msg("fleet.token_missing"), detail="fleet.token_file")
    return token


def controller_id(settings: Settings) -> str:
    """``fleet.controller_id``, else ``<establishment_id>-<lps_id>`` (unique per kiosk)."""
    return (
        settings.fleet.controller_id or f"{settings.site.establishment_id}-{settings.site.lps_id}"
    )


def endpoint_from_settings(settings: Settings, *, token: str | None = None) -> DdiEndpoint:
    """The endpoint of ``[fleet]``; the token from ``fleet.token_file`` unless given."""
    fleet: FleetConfig = settings.fleet
    return DdiEndpoint(
        url=fleet.url,
        tenant=fleet.tenant,
        controller_id=controller_id(settings),
        token=read_token(fleet.token_file) if token is None else token,
        auth=fleet.auth,
    )
