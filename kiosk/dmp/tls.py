"""Mutual TLS to the DMP: the establishment's ``ORG_AUTH_CLI`` certificate, or the agent's card.

Indirect mode (DOMAIN.md §5): the establishment authenticates with its ``ORG_AUTH_CLI``
software certificate — the **authentication** pair, never ``ORG_SIGN`` — through
Python's :mod:`ssl`, TLS 1.2 or later, the server checked against the configured CA.
The pair is checked when the client is built (readable, an authentication key usage,
valid now), so a misconfigured site fails at start with a message naming the file,
not at the first patient.

Direct mode needs the CPS/CPE card's authentication key, which never leaves the
card; :mod:`ssl` can only use a key it can read. The chosen path is a local TLS proxy,
:class:`CardTlsProxy`: ``stunnel`` in client mode, its key *and* certificate loaded
from the card through OpenSSL's PKCS#11 engine (libp11, Debian
``libengine-pkcs11-openssl``) over the same PKCS#11 module as ``kiosk/cards/pkcs11/``.
It listens on a Unix socket in a private 0700 directory (no TCP port to collide with
or to reach from elsewhere), checks the DMP's certificate against the configured CA
and host name, and the ``DmpClient`` speaks plain HTTP to it. The PIN reaches stunnel
through a 0600 configuration file that is deleted as soon as the proxy is up (the
engine logs in once, at start), and stunnel runs at a log level that never prints it.
libcurl with a ``pkcs11:`` URI was the alternative; it would add a Python dependency
(pycurl) and a second HTTP stack beside httpx.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from cryptography import x509

from kiosk.errors import ConfigError, Unavailable
from kiosk.locale import Message, msg

__all__ = [
    "ENGINE_PATHS",
    "CardTls",
    "CardTlsProxy",
    "DirectTlsUnavailable",
    "MutualTls",
    "TokenTlsTransport",
    "client_context",
    "indirect_mode_client",
]


@dataclass(frozen=True)
class MutualTls:
    """Trust for the DMP server and the client pair (``ORG_AUTH_CLI``) for indirect mode."""

    ca_file: Path
    client_cert: Path
    client_key: Path


class DirectTlsUnavailable(Unavailable):
    """Direct-mode TLS with the card's key is not available on this kiosk."""

    code = "DMP_DIRECT_TLS"
    retryable = False


def _config_error(path: Path, reason: Message, detail: str) -> ConfigError:
    return ConfigError(msg("dmp.tls.unusable", path=path, reason=reason), detail=detail)


def _check_authentication_certificate(path: Path, now: datetime) -> None:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise _config_error(
            path, msg("dmp.tls.check_authentication_certificate_3"), type(exc).__name__
        ) from exc
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise _config_error(path, msg("dmp.tls.check_authentication_certificate"), "validity")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if usage.content_commitment or not usage.digital_signature:
        # ORG_SIGN (non-repudiation) in place of ORG_AUTH_CLI: the DMP would refuse it.
        raise _config_error(
            path,
            msg("dmp.tls.check_authentication_certificate_2"),
            "key usage",
        )


def client_context(tls: MutualTls, *, now: datetime) -> ssl.SSLContext:
    """An SSL context trusting ``ca_file`` and presenting the ``ORG_AUTH_CLI`` pair."""
    _check_authentication_certificate(tls.client_cert, now)
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    except (OSError, ssl.SSLError) as exc:
        raise _config_error(tls.client_key, msg("dmp.tls.client_context"), str(exc)[:120]) from exc
    return context


def indirect_mode_client(tls: MutualTls, *, now: datetime, timeout_s: float) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` for the DMP in indirect mode (mutual TLS, file key)."""
    return httpx.AsyncClient(verify=client_context(tls, now=now), timeout=httpx.Timeout(timeout_s))


ENGINE_PATHS = (
    Path("/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"),
    Path("/usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so"),
)
"""Where Debian's libp11 puts the OpenSSL 3 PKCS#11 engine (amd64 desks, arm64 kiosks)."""


@dataclass(frozen=True)
class CardTls:
    """Direct-mode TLS: the card's token and key, and the DMP server to reach."""

    module: Path
    """The PKCS#11 module of the card (Cryptolib CPS; SoftHSM2 in simulation)."""
    token_label: str
    ca_file: Path
    host: str
    port: int
    key_label: str = "CPS_AUTH"
    """The authentication pair's label on the card (never the signature pair)."""
    server_name: str = ""
    """Name the server certificate must carry; ``host`` when empty."""


def _uri(token: str, label: str, kind: str) -> str:
    return f"pkcs11:token={quote(token)};object={quote(label)};type={kind}"


class CardTlsProxy:
    """A stunnel process holding the mutual-TLS session with the card's key."""

    def __init__(self, card: CardTls, *, env: dict[str, str] | None = None) -> None:
        self.card = card
        self._env = env or {}
        self._dir = Path(tempfile.mkdtemp(prefix="kiosk-tls-"))  # 0700
        self.socket_path = self._dir / "dmp.sock"
        self._process: asyncio.subprocess.Process | None = None

    def _config(self, pin: str) -> str:
        card = self.card
        engine = next((p for p in ENGINE_PATHS if p.exists()), ENGINE_PATHS[0])
        return "\n".join(
            [
                "foreground = yes",
                "pid =",
                "debug = 3",  # errors only: the configuration, PIN included, is never echoed
                f"output = {self._dir / 'stunnel.log'}",
                "engine = dynamic",
                f"engineCtrl = SO_PATH:{engine}",
                "engineCtrl = ID:pkcs11",
                "engineCtrl = LIST_ADD:1",
                "engineCtrl = LOAD",
                f"engineCtrl = MODULE_PATH:{card.module}",
                f"engineCtrl = PIN:{pin}",
                "engineCtrl = INIT",
                "[dmp]",
                "client = yes",
                f"accept = {self.socket_path}",
                f"connect = {card.host}:{card.port}",
                "engineId = pkcs11",
                f"key = {_uri(card.token_label, card.key_label, 'private')}",
                f"cert = {_uri(card.token_label, card.key_label, 'cert')}",
                f"CAfile = {card.ca_file}",
                "verifyChain = yes",
                f"checkHost = {card.server_name or card.host}",
                "sslVersionMin = TLSv1.2",
                "",
            ]
        )

    async def start(self, pin: str, *, timeout_s: float = 30.0) -> None:
        """Start stunnel, logged in to the card; the PIN file is gone when this returns."""
        if shutil.which("stunnel") is None:
            raise _direct_unavailable("stunnel not installed")
        config = self._dir / "stunnel.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._config(pin))
        try:
            self._process = await asyncio.create_subprocess_exec(
                "stunnel",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env={**os.environ, **self._env},
            )
            await self._wait_ready(timeout_s)
        finally:
            config.unlink(missing_ok=True)

    async def _wait_ready(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self.socket_path.exists():
            process = self._process
            if process is None or process.returncode is not None or loop.time() > deadline:
                log = self._dir / "stunnel.log"
                tail = log.read_text(errors="replace")[-300:] if log.exists() else ""
                await self.stop()
                raise _direct_unavailable(f"stunnel did not start: {tail}")
            await asyncio.sleep(0.05)

    @property
    def running(self) -> bool:
        """Whether stunnel is up (it exits when the token goes away)."""
        return self._process is not None and self._process.returncode is None

    def client(self, *, timeout_s: float) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` that reaches the DMP through the proxy."""
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket_path))
        return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout_s))

    async def stop(self) -> None:
        """End the proxy (card pulled, session over) and remove its directory."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        elif process is not None:
            await process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


def _direct_unavailable(detail: str) -> DirectTlsUnavailable:
    return DirectTlsUnavailable(
        msg("dmp.tls.direct_unavailable"),
        detail=detail,
    )


class TokenTlsTransport(httpx.AsyncBaseTransport):
    """Mutual TLS with the establishment's ``ORG_AUTH_CLI`` pair kept on a PKCS#11 token.

    A production kiosk keeps no key in a file (a USB HSM through OpenSC, or SoftHSM2 on
    the data partition), and :mod:`ssl` cannot use a token key: this transport runs the
    card's proxy (:class:`CardTlsProxy`) over the establishment's token instead, started
    at the first request (the PIN read then, from ``pin()``) and again after it died,
    and speaks plain HTTP to it on its private Unix socket. Closing the client stops it.
    """

    def __init__(
        self, tls: CardTls, pin: Callable[[], str], *, env: dict[str, str] | None = None
    ) -> None:
        self.tls = tls
        self._pin = pin
        self._env = env
        self._proxy: CardTlsProxy | None = None
        self._inner: httpx.AsyncHTTPTransport | None = None
        self._lock = asyncio.Lock()

    async def _through(self) -> httpx.AsyncHTTPTransport:
        async with self._lock:
            proxy = self._proxy
            if proxy is not None and proxy.running:
                assert self._inner is not None
                return self._inner
            await self._drop()
            proxy = CardTlsProxy(self.tls, env=self._env)
            try:
                await proxy.start(self._pin())
            except DirectTlsUnavailable as exc:
                raise Unavailable(
                    msg("dmp.tls.token_unavailable", token=self.tls.token_label),
                    detail=exc.detail,
                ) from exc
            self._proxy = proxy
            self._inner = httpx.AsyncHTTPTransport(uds=str(proxy.socket_path))
            return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the proxy, which holds the TLS session."""
        inner = await self._through()
        request.url = request.url.copy_with(scheme="http")  # TLS is the proxy's
        return await inner.handle_async_request(request)

    async def _drop(self) -> None:
        inner, self._inner = self._inner, None
        proxy, self._proxy = self._proxy, None
        if inner is not None:
            await inner.aclose()
        if proxy is not None:
            await proxy.stop()

    async def aclose(self) -> None:
        """Stop the proxy (the services are closing)."""
        async with self._lock:
            await self._drop()
