"""SoapClient: one SOAP 1.2 exchange over an injected ``httpx.AsyncClient``.

The client is handed its transport (httpx ``ASGITransport`` in tests, a real pool with
mutual TLS in production: STYLE.md "network seam"), so nothing is patched. It bounds
every exchange — a timeout per call and a response size limit enforced while
streaming, before any parsing — and maps every failure to the error tree at this
boundary: network errors, timeouts, 5xx and 429 answers without a fault →
:class:`~kiosk.errors.Unavailable` (retryable); a SOAP fault →
:class:`~kiosk.errors.SoapFault`, or :class:`~kiosk.errors.AccessDenied` when it is a
WS-Security authentication fault; anything unreadable →
:class:`~kiosk.soap.envelope.InvalidXml`.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lxml import etree

from kiosk.errors import AccessDenied, ServiceError, Unavailable
from kiosk.locale import Message, Words, msg
from kiosk.soap.envelope import (
    DEFAULT_MAX_BYTES,
    Envelope,
    InvalidXml,
    fault_error,
    parse_envelope,
    serialize,
)

__all__ = [
    "ExchangeTimings",
    "SoapClient",
    "TlsSettings",
    "build_http_client",
    "default_tls_context",
]

_AUTH_FAULTS = frozenset(
    # WS-Security 1.1 §12 fault subcodes: the caller is not authenticated or the
    # signature failed; the agent cannot fix that by retrying.
    {
        "wsse:FailedAuthentication",
        "wsse:InvalidSecurity",
        "wsse:FailedCheck",
        "wsse:InvalidSecurityToken",
        "wsse:SecurityTokenUnavailable",
    }
)


@dataclass(frozen=True)
class TlsSettings:
    """Server trust and, for mutual TLS, the client certificate (``ORG_AUTH_CLI``)."""

    ca_file: Path | None = None
    """CA bundle for the server certificate; None means the system store."""
    client_cert: Path | None = None
    client_key: Path | None = None
    """Mutual TLS with a file key; a CPS card's key cannot be used by ``ssl`` (see README)."""


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """The system store's verifying context (TLS 1.2 or later), built once per process.

    Shared by every client that names no CA file and no client pair: each context
    built afresh reads the whole store again (~45 ms here, more on a Pi), and the
    desk opens several clients at start.
    """
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def build_http_client(tls: TlsSettings | None, *, timeout_s: float) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for a SOAP endpoint; mutual TLS when a client pair is given."""
    verify = default_tls_context()
    if tls is not None and (tls.ca_file is not None or tls.client_cert is not None):
        verify = ssl.create_default_context(
            cafile=str(tls.ca_file) if tls.ca_file is not None else None
        )
        verify.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls.client_cert is not None and tls.client_key is not None:
            verify.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    return httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(timeout_s))


@dataclass
class ExchangeTimings:
    """Where the time of the last exchanges went (for the benchmark)."""

    http_s: float = 0.0
    parse_s: float = 0.0
    calls: int = 0

    def reset(self) -> None:
        """Start counting again."""
        self.http_s = self.parse_s = 0.0
        self.calls = 0


@dataclass
class SoapClient:
    """Posts SOAP 1.2 envelopes to one endpoint and returns the parsed answer."""

    http: httpx.AsyncClient
    endpoint: str
    service: str
    """Name shown to the user in messages (``INSi``, ``DMP``)."""
    timeout_s: float = 10.0
    max_response_bytes: int = DEFAULT_MAX_BYTES
    timings: ExchangeTimings = field(default_factory=ExchangeTimings)

    def _unavailable(self, reason: Message, detail: str) -> Unavailable:
        return Unavailable(
            msg("soap.transport.unavailable", service=self.service, reason=reason), detail=detail
        )

    async def call(self, envelope: etree._Element, *, action: str) -> Envelope:
        """Send ``envelope``; the parsed answer, or a KioskError (never a foreign exception)."""
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
        status, raw = await self.exchange(serialize(envelope), headers)
        return self._interpret(status, raw)

    async def exchange(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST ``body`` within the timeout and size limit; HTTP status and raw answer.

        Every transport failure becomes :class:`Unavailable`; callers that frame the
        body differently (MTOM) share these bounds and call ``_interpret`` themselves.
        """
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._post(body, headers)
        except TimeoutError as exc:
            raise self._unavailable(
                msg("soap.transport.soap_client_exchange"), f"no answer in {self.timeout_s}s"
            ) from exc
        except httpx.TimeoutException as exc:
            raise self._unavailable(
                msg("soap.transport.soap_client_exchange_2"), type(exc).__name__
            ) from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(
                msg("soap.transport.soap_client_exchange_3"), f"{type(exc).__name__}: {exc}"[:200]
            ) from exc
        finally:
            self.timings.http_s += time.perf_counter() - started
            self.timings.calls += 1

    async def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        async with self.http.stream("POST", self.endpoint, content=body, headers=headers) as reply:
            declared = reply.headers.get("content-length")
            if (
                declared is not None
                and declared.isdigit()
                and int(declared) > self.max_response_bytes
            ):
                raise _too_large(self.service, int(declared), self.max_response_bytes)
            chunks: list[bytes] = []
            size = 0
            async for chunk in reply.aiter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise _too_large(self.service, size, self.max_response_bytes)
                chunks.append(chunk)
            return reply.status_code, b"".join(chunks)

    def _interpret(self, status: int, raw: bytes) -> Envelope:
        started = time.perf_counter()
        try:
            looks_soap = b"Envelope" in raw[:4096]
            if 300 <= status < 400:
                # A SOAP endpoint that redirects is misconfigured; never replay the body.
                raise ServiceError(
                    msg(
                        "soap.transport.soap_client_interpret", service=self.service, status=status
                    ),
                    detail=f"HTTP {status}",
                )
            if (status >= 500 and not looks_soap) or status == 429:
                raise self._unavailable(
                    msg("soap.transport.soap_client_interpret_3", status=status), f"HTTP {status}"
                )
            if status >= 400 and not looks_soap:
                raise ServiceError(
                    msg(
                        "soap.transport.soap_client_interpret_2",
                        service=self.service,
                        status=status,
                    ),
                    detail=f"HTTP {status}",
                )
            answer = parse_envelope(raw, max_bytes=self.max_response_bytes)
        finally:
            self.timings.parse_s += time.perf_counter() - started
        if answer.fault is not None:
            fault = answer.fault
            if fault.subcode in _AUTH_FAULTS:
                raise AccessDenied(
                    msg(
                        "soap.transport.authentication_refused",
                        service=self.service,
                        reason=Words(fault.reason_fr, fault.reason_en),
                    ),
                    detail=f"{fault.subcode} severity={fault.severity}",
                )
            raise fault_error(fault, service=self.service)
        return answer


def _too_large(service: str, size: int, limit: int) -> InvalidXml:
    return InvalidXml(
        msg("soap.transport.too_large", service=service),
        detail=f"{size} bytes > {limit}",
    )
