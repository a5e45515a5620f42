"""The outbox's collaborators: its device key and its sender.

* The outbox sends through the DMP (:class:`kiosk.dmp.sender.DmpSender`). The feed
  sink of the simulated world was a stand-in written before the DMP client existed;
  it stays for the outbox's crash and rate benchmarks and is chosen only when a
  configuration asks for it: ``[outbox] sender = "feed_sink"``, or a
  ``feed_sink_url`` with no ``sender``.
* Deferred sends are made in indirect mode (DOMAIN.md §5): the VIHF is signed with the
  establishment's ``ORG_SIGN`` key; the person who acted is named by the row's
  detached signature (ARCHITECTURE.md §6). The CPE may be long gone when the worker
  drains the outbox.
* The device key: the PKCS#11 token's AES-256 key ``KIOSK_OUTBOX``
  (``outbox.device_key_token`` + ``outbox.device_key_pin_file``, module
  ``cards.pkcs11_module``) when a token is named, else the 0600 file ``outbox.device_key``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.config import Settings
from kiosk.errors import ConfigError, Unavailable
from kiosk.locale import msg
from kiosk.wiring.dmp import build_dmp_client, build_dmp_http
from kiosk.wiring.signers import establishment_signer, token_pin

if TYPE_CHECKING:
    from cryptography import x509

    from kiosk.dmp.client import DmpClient
    from kiosk.outbox.ports import DeviceKey, OutboxSender
    from kiosk.outbox.store import OutboxStore

__all__ = [
    "open_outbox",
    "outbox_device_key",
    "outbox_sender",
    "outbox_sender_kind",
    "outbox_trust",
]


@contextlib.asynccontextmanager
async def outbox_device_key(settings: Settings) -> AsyncIterator[DeviceKey]:
    """The outbox's device key for the block: the named token's key, else the 0600 file."""
    cfg = settings.outbox
    if not cfg.device_key_token:
        from kiosk.outbox.keys import FileDeviceKey

        yield FileDeviceKey.load_or_create(cfg.device_key)
        return
    pin = token_pin(
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
    dmp: DmpClient | None = None,
) -> AsyncIterator[OutboxSender]:
    """The outbox's sender, open for the block: the DMP (kinds ``dmp.*``) or the feed sink.

    ``dmp``: the DMP client the caller already holds (the desk's), so that the outbox
    and the desk share one signer and one connection pool; else one of its own.
    """
    if outbox_sender_kind(settings) == "feed_sink":
        import httpx

        from kiosk.sim.feed.client import FeedSinkSender

        url = settings.outbox.feed_sink_url or facts.get("feed_sink_url")
        if not isinstance(url, str) or not url:
            raise Unavailable(
                msg("wiring.outbox.outbox_sender"),
            )
        site = settings.site
        async with httpx.AsyncClient(timeout=settings.dmp.timeout_s) as http:
            yield FeedSinkSender(
                http, url, establishment=site.establishment_id, software=site.lps_name
            )
        return
    from kiosk.dmp.sender import DmpSender

    if dmp is not None:
        yield DmpSender(dmp)
        return
    async with (
        establishment_signer(settings, state_dir=state_dir) as signer,
        build_dmp_http(settings, clock) as http,
    ):
        yield DmpSender(build_dmp_client(settings, http, signer, clock, facts=facts))


@contextlib.asynccontextmanager
async def open_outbox(settings: Settings, clock: Clock) -> AsyncIterator[OutboxStore]:
    """The outbox store with its device key, open for the block."""
    from kiosk.outbox.store import OutboxStore

    cfg = settings.outbox
    async with outbox_device_key(settings) as key:
        store = await OutboxStore.open(
            cfg.database, key, clock, busy_timeout_ms=cfg.busy_timeout_ms
        )
        try:
            yield store
        finally:
            await store.close()


def outbox_trust(settings: Settings) -> Callable[[x509.Certificate], bool] | None:
    """Which signers the worker trusts: issued by ``outbox.trusted_ca``, else any."""
    path = settings.outbox.trusted_ca
    if path is None:
        return None
    from cryptography import x509

    from kiosk.outbox.sync import issued_by

    try:
        authorities = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(msg("commands.outbox.trust_policy", path=path)) from exc
    return issued_by(authorities)
