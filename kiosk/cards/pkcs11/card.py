"""CPS/CPE cards and the establishment token over PKCS#11: find, log in, sign.

The configured module is the ANS Cryptolib CPS in production and SoftHSM2 in
simulation (DOMAIN.md §5); nothing else differs. A card in a reader is found either
by its slot (Cryptolib CPS: one slot per reader, slot description = reader name) or,
in simulation, by its token label, which carries the card serial (``CPE 0123456789``,
see ``kiosk/sim/hsm.py``).

The PIN is held only for the C_Login call and never logged. What a wrong PIN does
is what the token says: PKCS#11 gives only the flags ``CKF_USER_PIN_COUNT_LOW``,
``CKF_USER_PIN_FINAL_TRY``, ``CKF_USER_PIN_LOCKED`` and the codes ``CKR_PIN_INCORRECT``
/ ``CKR_PIN_LOCKED``, read as ``kiosk/cards/pin.py`` says. A locked token is never
tried again. Who the token speaks for comes from ``kiosk/cards/professional.py``.
SoftHSM2 never locks: the simulator adds the lock with
:class:`kiosk.cards.pinlock.SimulatedPinLock`.

Signatures use the **signature** key (CKA_ID ending ``0x10``) with
``CKM_SHA256_RSA_PKCS``; the authentication key (``0x20``) is for TLS only, and the
DMP rejects a VIHF signed with it (DOMAIN.md §5).

Every call into the module goes through the lock of its library
(:func:`kiosk.cards.pkcs11.library.library`), from a worker thread (``asyncio.to_thread``).
A device token's AES key is opened through the same module (``device_key.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11

from kiosk.cards.pin import (
    MAX_PIN_TRIES,
    PIN_FLAGS,
    PinState,
    PinStatus,
    pin_error,
    pin_status,
)
from kiosk.cards.pinlock import SimulatedPinLock
from kiosk.cards.pkcs11.device_key import TokenSecretKey, open_secret_key
from kiosk.cards.pkcs11.library import GONE, card_error, library, log_out, removed
from kiosk.cards.professional import ProfessionalIdentity, professional_from
from kiosk.errors import CardError, CardRemoved, InvalidInput, PinIncorrect
from kiosk.locale import Words, msg
from kiosk.signing import SignerIdentity

__all__ = [
    "AUTHENTICATION_ID_SUFFIX",
    "SIGNATURE_ID_SUFFIX",
    "CpsModule",
    "CpsSession",
    "Pkcs11Signer",
    "TokenInfo",
    "TokenNotFound",
]

log = logging.getLogger(__name__)

SIGNATURE_ID_SUFFIX = 0x10
AUTHENTICATION_ID_SUFFIX = 0x20
TOKEN_INITIALIZED = 0x0000_0400
"""``CKF_TOKEN_INITIALIZED``: SoftHSM2 always lists one empty token, skipped."""


class TokenNotFound(CardError):
    """No PKCS#11 token belongs to this reader or card serial."""

    code = "CPS_TOKEN_NOT_FOUND"


@dataclass(frozen=True)
class TokenInfo:
    """A token as the module lists it: its slot (reader), label, serial and PIN state."""

    slot_description: str
    label: str
    serial: str
    pin: PinStatus


class Pkcs11Signer:
    """A :class:`kiosk.signing.Signer` over the token's signature key (CKA_ID …10)."""

    def __init__(
        self,
        key: Any,
        certificate: x509.Certificate,
        identity: SignerIdentity,
        lock: threading.Lock,
    ) -> None:
        self._key: Any = key
        self._certificate = certificate
        self._identity = identity
        self._lock = lock

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def identity(self) -> SignerIdentity:
        return self._identity

    def sign(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 SHA-256 on the token; blocking (a real card: 100–500 ms)."""
        with self._lock:
            key = self._key
            if key is None:
                raise CardRemoved(msg("cards.pkcs11.card.pkcs11_signer_sign"))
            try:
                return bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            except GONE as exc:
                raise removed(exc) from exc
            except p11.PKCS11Error as exc:
                raise card_error(exc) from exc

    async def sign_async(self, data: bytes) -> bytes:
        """:meth:`sign` from a worker thread, for async callers."""
        return await asyncio.to_thread(self.sign, data)

    def _forget(self) -> None:
        self._key = None


class CpsSession:
    """A logged-in token: the professional, the certificates, and the signer."""

    def __init__(
        self,
        session: Any,
        token_label: str,
        professional: ProfessionalIdentity,
        authentication_certificate: x509.Certificate | None,
        signer: Pkcs11Signer,
        lock: threading.Lock,
    ) -> None:
        self._session: Any = session
        self.token_label = token_label
        self.professional = professional
        self.authentication_certificate = authentication_certificate
        self.signer = signer
        self._lock = lock

    @property
    def open(self) -> bool:
        """False once logged out or after the card was pulled."""
        return self._session is not None

    def close(self) -> None:
        """Log out and forget the session and key; harmless when the card is already gone."""
        with self._lock:
            session, self._session = self._session, None
            self.signer._forget()
            log_out(session)

    async def aclose(self) -> None:
        """:meth:`close` from a worker thread."""
        await asyncio.to_thread(self.close)


class CpsModule:
    """The configured PKCS#11 module: find a card's token, read its PIN state, log in."""

    def __init__(
        self,
        module_path: Path,
        *,
        pin_lock: SimulatedPinLock | None = None,
        max_tries: int = MAX_PIN_TRIES,
    ) -> None:
        self.module_path = module_path
        self.pin_lock = pin_lock
        self.max_tries = max_tries
        self._sessions: list[CpsSession] = []
        self._keys: list[TokenSecretKey] = []

    async def close_all(self) -> None:
        """Log out of every session this adapter opened (shutdown, reader gone)."""
        sessions, self._sessions = self._sessions, []
        keys, self._keys = self._keys, []
        for session in sessions:
            await session.aclose()
        for key in keys:
            await key.aclose()

    async def pin_status(
        self, *, reader: str | None = None, card_serial: str | None = None, label: str | None = None
    ) -> PinStatus:
        """What the token flags say before a PIN is typed (e.g. to warn of the last try)."""
        return await asyncio.to_thread(self._pin_status, reader, card_serial, label)

    async def tokens(self) -> list[TokenInfo]:
        """Every token present, with its slot and PIN state (for ``kiosk cards login``)."""
        return await asyncio.to_thread(self._tokens)

    async def login(
        self,
        pin: str,
        *,
        reader: str | None = None,
        card_serial: str | None = None,
        label: str | None = None,
    ) -> CpsSession:
        """Log in to the card in ``reader`` / with ``card_serial`` (or the token ``label``)."""
        return await asyncio.to_thread(self._login, pin, reader, card_serial, label)

    async def open_secret_key(
        self, pin: str, *, token_label: str, key_label: str
    ) -> TokenSecretKey:
        """Log in to the token ``token_label`` and hold its AES-256 key ``key_label``."""
        return await asyncio.to_thread(self._open_secret_key, pin, token_label, key_label)

    def _open_secret_key(self, pin: str, token_label: str, key_label: str) -> TokenSecretKey:
        lib, lock = library(self.module_path)
        with lock:
            try:
                token = self._find(lib, None, None, token_label)
            except TokenNotFound as exc:
                raise TokenNotFound(
                    msg(
                        "cards.pkcs11.card.cps_module_open_secret_key",
                        token_label=token_label,
                        module_path=self.module_path,
                    ),
                    detail=exc.detail,
                ) from exc
            status = pin_status(self._flags(token), self.max_tries)
            if status.state is PinState.LOCKED:
                raise pin_error(status)
            try:
                session = self._c_login(token, pin)
            except PinIncorrect as exc:
                raise PinIncorrect(
                    msg("cards.pkcs11.card.cps_module_open_secret_key_2", token_label=token_label),
                    tries_left=exc.tries_left,
                ) from exc
            try:
                opened = open_secret_key(session, token_label, key_label, lock)
            except BaseException:
                with contextlib.suppress(p11.PKCS11Error):
                    session.close()
                raise
        self._keys = [k for k in self._keys if k.open]
        self._keys.append(opened)
        log.info("device key %r of token %r opened", key_label, token_label)
        return opened

    def _tokens(self) -> list[TokenInfo]:
        lib, lock = library(self.module_path)
        with lock:
            try:
                found = [(slot, slot.get_token()) for slot in lib.get_slots(token_present=True)]
            except p11.PKCS11Error as exc:
                raise card_error(exc) from exc
            return [
                TokenInfo(
                    slot.slot_description.strip(),
                    token.label.strip(),
                    token.serial.decode("ascii", errors="replace").strip(),
                    pin_status(self._flags(token), self.max_tries),
                )
                for slot, token in found
                if token.flags & TOKEN_INITIALIZED
            ]

    def _pin_status(self, reader: str | None, serial: str | None, label: str | None) -> PinStatus:
        lib, lock = library(self.module_path)
        with lock:
            token = self._find(lib, reader, serial, label)
            return pin_status(self._flags(token), self.max_tries)

    def _login(
        self, pin: str, reader: str | None, serial: str | None, label: str | None
    ) -> CpsSession:
        lib, lock = library(self.module_path)
        with lock:
            token = self._find(lib, reader, serial, label)
            status = pin_status(self._flags(token), self.max_tries)
            if status.state is PinState.LOCKED:
                raise pin_error(status)  # never spend a C_Login on a locked card
            session = self._c_login(token, pin)
            try:
                opened = self._open_session(session, token.label, lock)
            except BaseException:
                with contextlib.suppress(p11.PKCS11Error):
                    session.close()
                raise
        self._sessions = [s for s in self._sessions if s.open]
        self._sessions.append(opened)
        return opened

    def _c_login(self, token: Any, pin: str) -> Any:
        label: str = token.label
        try:
            if self.pin_lock is not None and self.pin_lock.is_locked(label):
                # The simulated card answers as a blocked card does: CKR_PIN_LOCKED.
                self.pin_lock.record_attempt(label, accepted=False)
                raise p11.PinLocked()
            session = token.open(user_pin=pin)
        except p11.PinIncorrect as exc:
            if self.pin_lock is not None:
                self.pin_lock.record_attempt(label, accepted=False)
            log.info("wrong PIN for token %r", label)
            status = pin_status(self._flags(token), self.max_tries)
            if status.state is PinState.OK:
                # A wrong PIN, yet no flag moved: this token shows no count at all.
                status = PinStatus(PinState.COUNT_LOW, None)
            raise pin_error(status) from exc
        except p11.PinLocked as exc:
            raise pin_error(PinStatus(PinState.LOCKED, 0)) from exc
        except (p11.PinLenRange, p11.PinInvalid) as exc:
            raise InvalidInput(
                msg("cards.pkcs11.card.cps_module_c_login"),
            ) from exc
        except p11.UserAlreadyLoggedIn as exc:
            raise CardError(
                msg("cards.pkcs11.card.cps_module_c_login_2"),
            ) from exc
        except GONE as exc:
            raise removed(exc) from exc
        except p11.PKCS11Error as exc:
            raise card_error(exc) from exc
        if self.pin_lock is not None:
            self.pin_lock.record_attempt(label, accepted=True)
        log.info("logged in to token %r", label)
        return session

    def _flags(self, token: Any) -> int:
        """The token flags, read afresh; the simulated lock supplies the PIN flags."""
        try:
            flags = int(token.slot.get_token().flags)
        except GONE as exc:
            raise removed(exc) from exc
        except p11.PKCS11Error as exc:
            raise card_error(exc) from exc
        if self.pin_lock is not None:
            flags = (flags & ~PIN_FLAGS) | self.pin_lock.flags(token.label)
        return flags

    def _find(self, lib: Any, reader: str | None, serial: str | None, label: str | None) -> Any:
        try:
            slots = lib.get_slots(token_present=True)
            candidates = [(slot, slot.get_token()) for slot in slots]
        except p11.PKCS11Error as exc:
            raise card_error(exc) from exc
        for slot, token in candidates:
            # Cryptolib CPS: one slot per reader, named after it (64 chars, space padded).
            if reader and slot.slot_description.strip() == reader[:64].strip():
                return token
        for _slot, token in candidates:
            words = token.label.split()
            if label is not None and token.label.strip() == label.strip():
                return token
            if serial and (words[-1:] == [serial] or token.serial.strip() == serial.encode()):
                return token
        wanted = (
            Words(label, label)
            if label
            else msg("cards.pkcs11.wanted_card", serial=serial)
            if serial
            else msg("cards.pkcs11.wanted_reader", reader=reader)
        )
        raise TokenNotFound(
            msg("cards.pkcs11.no_card", wanted=wanted),
            detail=f"reader={reader!r} serial={serial!r} label={label!r}",
        )

    def _open_session(self, session: Any, label: str, lock: threading.Lock) -> CpsSession:
        try:
            certs = {
                bytes(obj[Attribute.ID]): x509.load_der_x509_certificate(obj[Attribute.VALUE])
                for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
            }
            data = {
                str(obj[Attribute.LABEL]): bytes(obj[Attribute.VALUE])
                for obj in session.get_objects({Attribute.CLASS: ObjectClass.DATA})
            }
            sign_ids = sorted(i for i in certs if i and i[-1] == SIGNATURE_ID_SUFFIX)
            if not sign_ids:
                raise CardError(
                    msg("cards.pkcs11.card.cps_module_open_session"),
                    detail=f"token {label!r}: no CKA_ID ending 0x10",
                )
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=sign_ids[0])
        except GONE as exc:
            raise removed(exc) from exc
        except p11.PKCS11Error as exc:
            raise card_error(exc) from exc
        sign_cert = certs[sign_ids[0]]
        auth = [c for i, c in sorted(certs.items()) if i and i[-1] == AUTHENTICATION_ID_SUFFIX]
        professional = professional_from(sign_cert, data)
        identity = SignerIdentity(professional.national_id, professional.display_name)
        signer = Pkcs11Signer(key, sign_cert, identity, lock)
        return CpsSession(session, label, professional, auth[0] if auth else None, signer, lock)
