"""The check-in's Prometheus metrics: the last contact with the server and polls by result.

``kiosk_fleet_last_contact_timestamp_seconds`` moves only when the server answered, so
an alert on its age tells a kiosk the fleet cannot reach; ``kiosk_fleet_polls_total``
counts check-ins by ``result`` (``ok``, ``unavailable``, ``unauthorized``, ``protocol``,
``error``). Registered on the registry given, like :mod:`kiosk.metrics`.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["FleetMetrics"]


class FleetMetrics:
    """A :class:`~kiosk.fleet.ports.FleetObserver` publishing to Prometheus."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.last_contact = Gauge(
            "kiosk_fleet_last_contact_timestamp_seconds",
            "Unix time of the last check-in the fleet server answered (0: never).",
            registry=self.registry,
        )
        self.polls = Counter(
            "kiosk_fleet_polls",
            "Check-ins with the fleet server, by result.",
            ["result"],
            registry=self.registry,
        )

    def polled(self, result: str, at: datetime) -> None:
        """Count one check-in; an answered one moves the last contact."""
        self.polls.labels(result=result).inc()
        if result == "ok":
            self.last_contact.set(at.timestamp())
