"""``kiosk dmp status NIR``: TD0.2 against the configured DMP (the simulator by default).

Indirect mode: the VIHF is signed with the establishment's ``ORG_SIGN`` key and, with
``dmp.kind = "http"``, TLS is mutual with ``ORG_AUTH_CLI`` (kiosk/dmp/tls.py). Writes
(creation, authorization, documents) are not offered here: they go through the outbox
(``kiosk outbox``/``kiosk sync``) and the admission flow. Exit codes (ARCHITECTURE.md
§12): 0 answered, 1 invalid NIR, 3 DMP unavailable or refusing. The NIR is masked in
text output.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
import httpx

from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext, emit
from kiosk.config import Settings
from kiosk.dmp.client import DmpClient, DmpSettings
from kiosk.dmp.tls import MutualTls, indirect_mode_client
from kiosk.dmp.transactions import ExistenceResponse
from kiosk.dmp.vihf import Actor, AuthMode, Software
from kiosk.dmp.vocabulary import INS_TEST_OID, CodedValue
from kiosk.domain.ins import Ins
from kiosk.domain.nir import Nir
from kiosk.errors import ConfigError
from kiosk.signing import KeySigner, Signer, SignerIdentity

__all__ = ["dmp"]

_ADMISSION = CodedValue("ADM", "1.2.250.1.213.1.1.4.6", "Personnel administratif")  # (verify)


def _signer(settings: Settings) -> Signer:
    cfg = settings.dmp
    if cfg.kind == "sim":
        from kiosk.sim.pki import ESTABLISHMENT, ensure_test_pki

        return ensure_test_pki(settings.paths.data_dir / "sim" / "pki").signer_for(ESTABLISHMENT)
    if cfg.sign_key is None or cfg.sign_cert is None:
        raise ConfigError(
            "dmp.sign_key et dmp.sign_cert (ORG_SIGN) sont requis quand dmp.kind = « http ».",
            "dmp.sign_key and dmp.sign_cert (ORG_SIGN) are required when dmp.kind = 'http'.",
            detail="dmp signer",
        )
    who = SignerIdentity(settings.site.establishment_id, settings.site.establishment_name)
    try:
        return KeySigner.from_pem_files(cfg.sign_key, cfg.sign_cert, who)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"Clé de signature DMP illisible : {cfg.sign_key}",
            f"Cannot load the DMP signing key: {cfg.sign_key}",
            detail=type(exc).__name__,
        ) from exc


def _http(settings: Settings, clock: SystemClock) -> httpx.AsyncClient:
    cfg = settings.dmp
    if cfg.kind == "sim":
        return httpx.AsyncClient(timeout=httpx.Timeout(cfg.timeout_s))
    if cfg.ca_file is None or cfg.client_cert is None or cfg.client_key is None:
        raise ConfigError(
            "dmp.ca_file, dmp.client_cert et dmp.client_key (ORG_AUTH_CLI) sont requis.",
            "dmp.ca_file, dmp.client_cert and dmp.client_key (ORG_AUTH_CLI) are required.",
            detail="dmp tls",
        )
    tls = MutualTls(cfg.ca_file, cfg.client_cert, cfg.client_key)
    return indirect_mode_client(tls, now=clock.now(), timeout_s=cfg.timeout_s)


async def _status(settings: Settings, patient: Ins, agent: str) -> ExistenceResponse:
    clock = SystemClock()
    site, cfg = settings.site, settings.dmp
    actor = Actor(
        issuer="",
        national_id=f"{site.establishment_id}/{agent}",
        display_name=f"{agent}, {site.establishment_name}",
        structure_id=site.establishment_id,
        sector="SA01",
        profession=_ADMISSION,
        specialty=None,
        mode=AuthMode.INDIRECT,
    )
    software = Software(site.lps_id, site.lps_name, site.lps_version, site.dmp_homologation)
    endpoint = cfg.endpoint.rstrip("/") + "/"
    async with _http(settings, clock) as http:
        client = DmpClient(
            http,
            _signer(settings),
            actor=actor,
            software=software,
            clock=clock,
            settings=DmpSettings(endpoint, cfg.sender_oid, site.lps_name),
        )
        return await client.existence(patient)


@click.group()
def dmp() -> None:
    """DMP (Dossier Médical Partagé) queries."""


@dmp.command("status")
@click.argument("nir")
@click.option("--oid", default=INS_TEST_OID, show_default=True, help="INS authority OID.")
@click.option("--agent", default="KIOSK", show_default=True, help="Local id of the agent.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: CliContext, nir: str, oid: str, agent: str, as_json: bool) -> None:
    """TD0.2: does the patient have a DMP, may this establishment access it, web account."""
    patient = Ins.of(nir, oid)
    answer = asyncio.run(_status(obj.settings, patient, agent))
    masked = Nir.parse(nir).masked()
    data: dict[str, Any] = {
        "nir": masked,
        "exists": answer.exists,
        "authorization": answer.authorization.value,
        "refusal_reason": answer.refusal_reason,
        "web_account_open": answer.web_account_open,
    }
    if obj.lang == "en":
        text = f"{masked}: DMP {'exists' if answer.exists else 'not found'}"
    else:
        text = f"{masked} : DMP {'existant' if answer.exists else 'inexistant'}"
    text += f", autorisation/authorization {answer.authorization.value}"
    if answer.web_account_open is not None:
        text += f", compte web/web account {'ouvert/open' if answer.web_account_open else 'non'}"
    emit(as_json, data, text)
