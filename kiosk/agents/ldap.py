"""The hospital's LDAP / Active Directory as the agent directory: a bind as the user.

The only ldap3 importer. The kiosk holds no service account: it binds with the name and
password typed (``user_dn`` template, e.g. ``uid={name},ou=people,dc=…`` or, for Active
Directory, ``{name}@domain``), then reads the person's entry with that same connection
(names, and the local role if the site keeps it in an attribute). ldap3 is blocking: the
exchange runs in a thread, bounded by ``timeout_s``.

* An empty password is refused here: LDAP would take it for an anonymous bind, which
  succeeds (RFC 4513 §5.1.2).
* Wrong name or password (result 49, invalidCredentials) → :class:`AgentRefused`;
  a server that cannot be reached, a TLS failure, a timeout, or the server answering
  busy/unavailable → :class:`DirectoryUnavailable` (a site may then fall back on its file).
* The name typed is escaped for the DN and for the search filter.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1 names that pyasn1 0.6 deprecates (tagMap, typeMap):
    # the library's business, not ours; silenced for this import only.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyasn1")
    warnings.filterwarnings("ignore", message=r"(tag|type)Map is deprecated")
    import ldap3
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

from kiosk.agents.ports import (
    ROLES,
    AgentRefused,
    DirectoryUnavailable,
    LocalAgent,
    check_login,
)
from kiosk.locale import msg

__all__ = ["LdapDirectory", "LdapSettings"]

_INVALID_CREDENTIALS = 49
_UNREACHABLE_RESULTS = frozenset({51, 52, 80, 81})  # busy, unavailable, other, server down


@dataclass(frozen=True)
class LdapSettings:
    """Where the directory is and how a person is found in it (``[agents] ldap_*``)."""

    url: str
    user_dn: str
    base: str = ""
    filter: str = "(uid={name})"
    given_name: str = "givenName"
    family_name: str = "sn"
    role_attribute: str = ""
    default_role: str = "admission"
    start_tls: bool = False
    ca_file: Path | None = None
    timeout_s: float = 5.0


class LdapDirectory:
    """An :class:`~kiosk.agents.ports.AgentDirectory` over LDAP/AD (bind as the user)."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings

    async def authenticate(self, name: str, password: str) -> LocalAgent:
        """Bind as ``name``; the person's entry makes the agent."""
        login = check_login(name)
        if not password:
            raise AgentRefused(msg("agents.refused"), detail="ldap empty password")
        return await asyncio.to_thread(self._authenticate, login, password)

    def _server(self) -> ldap3.Server:
        cfg = self.settings
        tls = None
        if cfg.url.startswith("ldaps://") or cfg.start_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=str(cfg.ca_file) if cfg.ca_file else None,
            )
        return ldap3.Server(cfg.url, connect_timeout=cfg.timeout_s, get_info=ldap3.NONE, tls=tls)

    def _authenticate(self, login: str, password: str) -> LocalAgent:
        cfg = self.settings
        user = cfg.user_dn.format(name=escape_rdn(login) if "=" in cfg.user_dn else login)
        try:
            connection = ldap3.Connection(
                self._server(),
                user=user,
                password=password,
                receive_timeout=max(1, math.ceil(cfg.timeout_s)),  # ldap3 packs it as an int
                raise_exceptions=False,
                read_only=True,
            )
        except LDAPException as exc:
            raise self._unavailable(type(exc).__name__) from exc
        try:
            connection.open()
            if cfg.start_tls and not connection.start_tls():
                raise self._unavailable("start_tls")
            if not connection.bind():
                code = int(connection.result.get("result", 0))
                if code in _UNREACHABLE_RESULTS:
                    raise self._unavailable(f"bind result {code}")
                raise AgentRefused(msg("agents.refused"), detail=f"ldap {code}")
            entry = self._entry(connection, login, user)
        except LDAPException as exc:
            raise self._unavailable(type(exc).__name__) from exc
        finally:
            _close(connection)
        return self._agent(login, entry)

    def _entry(self, connection: ldap3.Connection, login: str, user: str) -> dict[str, list[str]]:
        cfg = self.settings
        attributes = [a for a in (cfg.given_name, cfg.family_name, cfg.role_attribute) if a]
        if cfg.base:
            found = connection.search(
                cfg.base,
                cfg.filter.format(name=escape_filter_chars(login)),
                search_scope=ldap3.SUBTREE,
                attributes=attributes,
                size_limit=2,
            )
        else:
            found = connection.search(
                user, "(objectClass=*)", search_scope=ldap3.BASE, attributes=attributes
            )
        if not found or len(connection.response or []) == 0:
            return {}
        first = next((r for r in connection.response if r.get("type") == "searchResEntry"), None)
        if first is None:
            return {}
        raw = first.get("attributes", {})
        return {
            k: [str(v) for v in (raw[k] if isinstance(raw[k], list) else [raw[k]])] for k in raw
        }

    def _agent(self, login: str, entry: dict[str, list[str]]) -> LocalAgent:
        cfg = self.settings

        def first(attribute: str) -> str:
            values = entry.get(attribute, []) if attribute else []
            return values[0].strip() if values else ""

        role = first(cfg.role_attribute)
        return LocalAgent(
            login=login,
            given_name=first(cfg.given_name),
            family_name=first(cfg.family_name),
            role=role if role in ROLES else cfg.default_role,
            source="ldap",
        )

    def _unavailable(self, detail: str) -> DirectoryUnavailable:
        return DirectoryUnavailable(
            msg("agents.ldap_unavailable", url=self.settings.url), detail=f"ldap {detail}"
        )


def _close(connection: ldap3.Connection) -> None:
    """Unbind, and close the socket ldap3 leaves open after a failed connect."""
    try:
        if not connection.closed:
            connection.unbind()
    except LDAPException:
        pass
    sock = getattr(connection, "socket", None)
    if sock is not None:
        sock.close()
