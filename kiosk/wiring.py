"""Settings → ready objects: the only place that picks real or simulated adapters.

Each ``build_*`` function reads one section's ``kind`` (``kiosk/config.py``) and
imports the chosen adapter inside its branch, so a command loads only what it uses
(STYLE.md §2). Simulation facts come from the running world (``world.json`` under
``<data_dir>/sim``, see :func:`world_facts`): the simulated DMP answers at the
world's ``dmp_url`` and trusts the test PKI of the world's state directory.

Decisions written down here:

* The outbox sends through the DMP (:class:`kiosk.dmp.sender.DmpSender`). The feed
  sink of the simulated world (``kiosk/sim/feed_sink.py``) was a stand-in written
  before the DMP client existed; it stays for the outbox's crash and rate benchmarks
  and is chosen only when a configuration asks for it: ``[outbox] sender =
  "feed_sink"``, or a ``feed_sink_url`` with no ``sender``.
* Deferred sends are made in indirect mode (DOMAIN.md §5): the VIHF is signed with the
  establishment's ``ORG_SIGN`` key, for the kiosk's admission agent; the person who
  acted is named by the row's detached signature (ARCHITECTURE.md §6). The CPE may be
  long gone when the worker drains the outbox.
* ``ORG_SIGN`` in production: the PKCS#11 token (``dmp.sign_token`` + ``dmp.sign_pin_file``)
  through ``kiosk/cards/pkcs11/``, or PEM files (``dmp.sign_key`` + ``dmp.sign_cert``);
  neither configured is a :class:`~kiosk.errors.ConfigError` naming the keys.
* The outbox's device key: the PKCS#11 token's AES-256 key ``KIOSK_OUTBOX``
  (``outbox.device_key_token`` + ``outbox.device_key_pin_file``, module
  ``cards.pkcs11_module``) when a token is named, else the 0600 file ``outbox.device_key``.
  A PIN file anyone else may read is refused, for either token.
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.errors import ConfigError, Unavailable
from kiosk.signing import Signer

if TYPE_CHECKING:
    import httpx

    from kiosk.dmp.client import DmpClient
    from kiosk.outbox.ports import DeviceKey, OutboxSender

__all__ = [
    "build_dmp_client",
    "build_dmp_http",
    "dmp_endpoint",
    "establishment_signer",
    "insi_signer",
    "outbox_device_key",
    "outbox_sender",
    "outbox_sender_kind",
    "sim_state_dir",
    "world_facts",
]

_ADMISSION = ("ADM", "1.2.250.1.213.1.1.4.6", "Personnel administratif")
"""Profession of the kiosk's admission agent in indirect mode (as ``kiosk dmp status``)."""


def sim_state_dir(settings: Settings) -> Path:
    """Where ``kiosk demo`` keeps its world (sockets, test PKI, ``world.json``)."""
    return (settings.paths.data_dir / "sim").resolve()


def world_facts(settings: Settings) -> Mapping[str, object]:
    """What the running simulated world published (empty when none runs)."""
    from kiosk.sim.environment import load_world_state

    state = load_world_state(sim_state_dir(settings))
    facts = state.get("facts") if state else None
    return facts if isinstance(facts, dict) else {}


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
        return httpx.AsyncClient(timeout=httpx.Timeout(cfg.timeout_s))
    if cfg.ca_file is None or cfg.client_cert is None or cfg.client_key is None:
        raise ConfigError(
            "dmp.ca_file, dmp.client_cert et dmp.client_key (ORG_AUTH_CLI) sont requis.",
            "dmp.ca_file, dmp.client_cert and dmp.client_key (ORG_AUTH_CLI) are required.",
            detail="dmp tls",
        )
    from kiosk.dmp.tls import MutualTls, indirect_mode_client

    tls = MutualTls(cfg.ca_file, cfg.client_cert, cfg.client_key)
    return indirect_mode_client(tls, now=clock.now(), timeout_s=cfg.timeout_s)


@contextlib.asynccontextmanager
async def establishment_signer(
    settings: Settings, *, state_dir: Path | None = None
) -> AsyncIterator[Signer]:
    """The establishment's ``ORG_SIGN`` signer for indirect mode, open for the block's life."""
    cfg = settings.dmp
    if cfg.kind == "sim":
        from kiosk.sim.pki import ESTABLISHMENT, ensure_test_pki

        pki = ensure_test_pki((state_dir or sim_state_dir(settings)) / "pki")
        yield pki.signer_for(ESTABLISHMENT)
        return
    if cfg.sign_token:
        async with _token_signer(settings) as signer:
            yield signer
        return
    if cfg.sign_key is None or cfg.sign_cert is None:
        raise ConfigError(
            "Clé ORG_SIGN absente : réglez dmp.sign_token et dmp.sign_pin_file (jeton "
            "PKCS#11), ou dmp.sign_key et dmp.sign_cert (fichiers PEM).",
            "No ORG_SIGN key: set dmp.sign_token and dmp.sign_pin_file (PKCS#11 token), "
            "or dmp.sign_key and dmp.sign_cert (PEM files).",
            detail="dmp signer",
        )
    yield _pem_signer(settings, cfg.sign_key, cfg.sign_cert, "DMP")


def insi_signer(settings: Settings) -> Signer:
    """The establishment's signer for INSi: the simulated world's, or PEM files."""
    cfg = settings.insi
    if cfg.kind == "sim":
        from kiosk.sim.pki import ESTABLISHMENT, ensure_test_pki

        # The simulated world's PKI (kiosk demo / kiosk sim serve use the same directory).
        return ensure_test_pki(sim_state_dir(settings) / "pki").signer_for(ESTABLISHMENT)
    if cfg.sign_key is None or cfg.sign_cert is None:
        raise ConfigError(
            "insi.sign_key et insi.sign_cert sont requis quand insi.kind = « http ».",
            "insi.sign_key and insi.sign_cert are required when insi.kind = 'http'.",
            detail="insi signer",
        )
    return _pem_signer(settings, cfg.sign_key, cfg.sign_cert, "INSi")


def _pem_signer(settings: Settings, key: Path, cert: Path, service: str) -> Signer:
    """``ORG_SIGN`` from PEM files (loaded once), speaking for the site's establishment."""
    from kiosk.signing import KeySigner, SignerIdentity

    who = SignerIdentity(settings.site.establishment_id, settings.site.establishment_name)
    try:
        return KeySigner.from_pem_files(key, cert, who)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"Clé de signature {service} illisible : {key}",
            f"Cannot load the {service} signing key: {key}",
            detail=type(exc).__name__,
        ) from exc


def _token_pin(path: Path | None, *, setting: str, required_by: str, what: str) -> str:
    """The PIN in the 0600 file named by ``setting``, required with ``required_by``."""
    if path is None:
        raise ConfigError(
            f"{setting} (code du jeton {what}, fichier 0600) est requis avec {required_by}.",
            f"{setting} (the {what} token's PIN, a 0600 file) is required with {required_by}.",
            detail=setting,
        )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{setting} : {path} est lisible par d'autres (droits {mode:o}) ; attendu 600.",
                f"{setting}: {path} is readable by others (mode {mode:o}); expected 600.",
                detail=setting,
            )
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"Fichier de code illisible : {path} ({exc.strerror})",
            f"Cannot read the PIN file: {path} ({exc.strerror})",
            detail=setting,
        ) from exc


@contextlib.asynccontextmanager
async def _token_signer(settings: Settings) -> AsyncIterator[Signer]:
    cfg = settings.dmp
    pin = _token_pin(
        cfg.sign_pin_file,
        setting="dmp.sign_pin_file",
        required_by="dmp.sign_token",
        what="ORG_SIGN",
    )
    from kiosk.cards.pkcs11 import CpsModule

    module = CpsModule(settings.cards.pkcs11_module)
    session = await module.login(pin, label=cfg.sign_token)
    del pin
    try:
        yield session.signer
    finally:
        await session.aclose()


@contextlib.asynccontextmanager
async def outbox_device_key(settings: Settings) -> AsyncIterator[DeviceKey]:
    """The outbox's device key for the block: the named token's key, else the 0600 file."""
    cfg = settings.outbox
    if not cfg.device_key_token:
        from kiosk.outbox.keys import FileDeviceKey

        yield FileDeviceKey.load_or_create(cfg.device_key)
        return
    pin = _token_pin(
        cfg.device_key_pin_file,
        setting="outbox.device_key_pin_file",
        required_by="outbox.device_key_token",
        what=cfg.device_key_token,
    )
    from kiosk.outbox.keys import TokenDeviceKey

    module = cfg.device_key_module or settings.cards.pkcs11_module
    key = await TokenDeviceKey.login(module, pin, token_label=cfg.device_key_token)
    del pin
    try:
        yield key
    finally:
        await key.aclose()


def build_dmp_client(
    settings: Settings,
    http: httpx.AsyncClient,
    signer: Signer,
    clock: Clock,
    *,
    facts: Mapping[str, object],
    agent: str = "KIOSK",
) -> DmpClient:
    """The DMP client in indirect mode for this establishment's admission ``agent``."""
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
    )


def outbox_sender_kind(settings: Settings) -> str:
    """``dmp`` unless the configuration asks for the simulated feed sink explicitly."""
    cfg = settings.outbox
    if cfg.sender is not None:
        return cfg.sender
    return "feed_sink" if cfg.feed_sink_url else "dmp"


@contextlib.asynccontextmanager
async def outbox_sender(
    settings: Settings,
    clock: Clock,
    *,
    facts: Mapping[str, object],
    state_dir: Path | None = None,
) -> AsyncIterator[OutboxSender]:
    """The outbox's sender, open for the block: the DMP (kinds ``dmp.*``) or the feed sink."""
    if outbox_sender_kind(settings) == "feed_sink":
        import httpx

        from kiosk.sim.feed_client import FeedSinkSender

        url = settings.outbox.feed_sink_url or facts.get("feed_sink_url")
        if not isinstance(url, str) or not url:
            raise Unavailable(
                "Aucun collecteur simulé : lancez « kiosk demo » ou réglez outbox.feed_sink_url.",
                "No feed sink: start `kiosk demo` or set outbox.feed_sink_url.",
            )
        site = settings.site
        async with httpx.AsyncClient(timeout=settings.dmp.timeout_s) as http:
            yield FeedSinkSender(
                http, url, establishment=site.establishment_id, software=site.lps_name
            )
        return
    from kiosk.dmp.sender import DmpSender

    async with (
        establishment_signer(settings, state_dir=state_dir) as signer,
        build_dmp_http(settings, clock) as http,
    ):
        yield DmpSender(build_dmp_client(settings, http, signer, clock, facts=facts))
