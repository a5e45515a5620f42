"""The establishment's signers: ``ORG_SIGN`` for the DMP's indirect mode and for INSi.

In simulation the world's test PKI; in production a PKCS#11 token (through
``kiosk.cards.pkcs11``) or PEM files. A token's PIN comes from a 0600 file; a PIN
file anyone else may read is refused.
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import AsyncIterator
from pathlib import Path

from kiosk.config import Settings
from kiosk.errors import ConfigError
from kiosk.locale import msg
from kiosk.signing import Signer
from kiosk.wiring.world import sim_state_dir

__all__ = ["establishment_signer", "insi_signer", "token_pin", "token_signer"]


@contextlib.asynccontextmanager
async def establishment_signer(
    settings: Settings, *, state_dir: Path | None = None
) -> AsyncIterator[Signer]:
    """The establishment's ``ORG_SIGN`` signer for indirect mode, open for the block's life."""
    cfg = settings.dmp
    if cfg.kind == "sim":
        from kiosk.sim.pki import ESTABLISHMENT, ensure_test_pki

        pki = ensure_test_pki(sim_state_dir(settings, state_dir) / "pki")
        yield pki.signer_for(ESTABLISHMENT)
        return
    if cfg.sign_token:
        async with _token_signer(settings) as signer:
            yield signer
        return
    if cfg.sign_key is None or cfg.sign_cert is None:
        raise ConfigError(
            msg("wiring.signers.establishment_signer"),
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
            msg("wiring.signers.insi_signer"),
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
            msg("wiring.signers.pem_signer", service=service, key=key),
            detail=type(exc).__name__,
        ) from exc


def token_pin(path: Path | None, *, setting: str, required_by: str, what: str) -> str:
    """The PIN in the 0600 file named by ``setting``, required with ``required_by``."""
    if path is None:
        raise ConfigError(
            msg("wiring.signers.token_pin", setting=setting, what=what, required_by=required_by),
            detail=setting,
        )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                msg("wiring.signers.token_pin_2", setting=setting, path=path, mode=mode),
                detail=setting,
            )
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            msg("wiring.signers.token_pin_3", path=path, strerror=exc.strerror),
            detail=setting,
        ) from exc


@contextlib.asynccontextmanager
async def _token_signer(settings: Settings) -> AsyncIterator[Signer]:
    cfg = settings.dmp
    async with token_signer(
        settings, cfg.sign_token, cfg.sign_pin_file, setting="dmp.sign_pin_file"
    ) as signer:
        yield signer


@contextlib.asynccontextmanager
async def token_signer(
    settings: Settings, label: str, pin_file: Path | None, *, setting: str
) -> AsyncIterator[Signer]:
    """``ORG_SIGN`` on the token ``label``, logged in with the PIN of ``pin_file``."""
    pin = token_pin(
        pin_file,
        setting=setting,
        required_by=setting.replace("_pin_file", "_token"),
        what="ORG_SIGN",
    )
    from kiosk.cards.pkcs11 import CpsModule

    module = CpsModule(settings.cards.pkcs11_module)
    session = await module.login(pin, label=label)
    del pin
    try:
        yield session.signer
    finally:
        await session.aclose()
