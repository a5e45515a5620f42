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
from kiosk.signing import Signer
from kiosk.wiring.world import sim_state_dir

__all__ = ["establishment_signer", "insi_signer", "token_pin"]


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


def token_pin(path: Path | None, *, setting: str, required_by: str, what: str) -> str:
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
    pin = token_pin(
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
