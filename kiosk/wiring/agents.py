"""The agent directory of indirect mode: none, the site file, or the hospital's LDAP/AD.

Chosen by ``[agents] kind`` (``kiosk/config.py`` :class:`~kiosk.config.AgentsConfig`);
the adapters are imported inside their branch. Every directory sits behind the lockout
(``max_failures`` wrong passwords in a row lock a name for ``lockout_s``); with
``kind = "ldap"`` and ``fallback_file = true`` the site file answers when the directory
cannot be reached.
"""

from __future__ import annotations

from kiosk.agents import AgentDirectory, Fallback, Guarded, Lockout
from kiosk.clock import Clock
from kiosk.config import Settings

__all__ = ["build_agent_directory"]


def build_agent_directory(settings: Settings, clock: Clock) -> AgentDirectory | None:
    """The configured directory behind its lockout, or None with ``kind = "none"``."""
    cfg = settings.agents
    directory: AgentDirectory
    if cfg.kind == "none":
        return None
    if cfg.kind == "file":
        from kiosk.agents.sitefile import SiteAgentFile

        directory = SiteAgentFile(cfg.file)
    else:
        from kiosk.agents.ldap import LdapDirectory, LdapSettings

        directory = LdapDirectory(
            LdapSettings(
                url=cfg.ldap_url,
                user_dn=cfg.ldap_user_dn,
                base=cfg.ldap_base,
                filter=cfg.ldap_filter,
                given_name=cfg.ldap_given_name,
                family_name=cfg.ldap_family_name,
                role_attribute=cfg.ldap_role_attribute,
                default_role=cfg.ldap_default_role,
                start_tls=cfg.ldap_start_tls,
                ca_file=cfg.ldap_ca_file,
                timeout_s=cfg.ldap_timeout_s,
            )
        )
        if cfg.fallback_file:
            from kiosk.agents.sitefile import SiteAgentFile

            directory = Fallback(directory, SiteAgentFile(cfg.file))
    return Guarded(directory, Lockout(clock, cfg.max_failures, cfg.lockout_s))
