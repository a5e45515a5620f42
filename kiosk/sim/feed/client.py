"""The HTTP side of the feed sink: an :class:`OutboxSender` over httpx, and its control client.

Stands in for the DMP client until it exists (issue 8). Faults are translated at
this boundary: a JSON fault with ``permanent`` → :class:`PermanentSendError`; any
other answered fault → :class:`TransientSendError` (``answered=True``); no answer at
all — refused, timed out, connection dropped mid-response — → ``answered=False``,
because the item may or may not have been committed and only a resend with the same
idempotency key can tell.
"""

from __future__ import annotations

from typing import Any

import httpx

from kiosk.locale import msg
from kiosk.outbox.ports import Ack, OutboxItem, PermanentSendError, TransientSendError

__all__ = ["FeedSinkControl", "FeedSinkSender"]


class FeedSinkSender:
    """Sends outbox items to a feed sink as one POST each."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, *, establishment: str, software: str
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/feed"
        self._headers = {"x-establishment": establishment, "x-software": software}

    async def send(self, item: OutboxItem) -> Ack:
        headers = {**self._headers, "idempotency-key": item.idempotency_key, "x-kind": item.kind}
        try:
            response = await self._http.post(self._url, content=item.payload, headers=headers)
            body: Any = response.json() if response.content else {}
        except (httpx.TransportError, ValueError) as exc:
            raise TransientSendError(
                msg("sim.feed.client.feed_sink_sender_send_3"),
                fault_code="NETWORK",
                answered=False,
                detail=type(exc).__name__,
            ) from exc
        if response.status_code == 200 and isinstance(body, dict) and "ack" in body:
            ack = body["ack"]
            return Ack(
                idempotency_key=str(ack["key"]),
                remote_id=str(ack["remote_id"]),
                duplicate=bool(ack.get("duplicate", False)),
            )
        fault = body.get("fault", {}) if isinstance(body, dict) else {}
        code = str(fault.get("code", f"HTTP_{response.status_code}"))
        if fault.get("permanent"):
            raise PermanentSendError(
                msg("sim.feed.client.feed_sink_sender_send_2", code=code),
                fault_code=code,
            )
        retry_after = response.headers.get("retry-after")
        raise TransientSendError(
            msg("sim.feed.client.feed_sink_sender_send", code=code),
            fault_code=code,
            answered=True,
            retry_after_s=float(retry_after) if retry_after else None,
        )


class FeedSinkControl:
    """Drives a running feed sink: inject faults, read counters and items."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def inject(
        self,
        mode: str | list[str],
        *,
        count: int = 1,
        code: str = "DMP_FAULT",
        latency_s: float = 0.0,
    ) -> None:
        """Queue ``count`` faults of ``mode`` (5xx, permanent, latency, lost), or of a pattern."""
        pattern = [mode] if isinstance(mode, str) else mode
        spec = {"pattern": pattern, "count": count, "code": code, "latency_s": latency_s}
        (await self._http.post(f"{self._base}/_sink/faults", json=spec)).raise_for_status()

    async def clear(self) -> None:
        """Drop queued faults."""
        (await self._http.delete(f"{self._base}/_sink/faults")).raise_for_status()

    async def set_rate(self, rate: float) -> None:
        """Change the sink's rate limit."""
        (await self._http.post(f"{self._base}/_sink/rate", json={"rate": rate})).raise_for_status()

    async def stats(self) -> dict[str, int]:
        """The counters."""
        response = await self._http.get(f"{self._base}/_sink/stats")
        response.raise_for_status()
        data: dict[str, int] = response.json()
        return data

    async def items(self) -> list[dict[str, Any]]:
        """Every stored item, in arrival order."""
        response = await self._http.get(f"{self._base}/_sink/items")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()
        return data
