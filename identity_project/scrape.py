"""GET /metrics: every process's counters (metrics.py) added up, and the state kept in the database.

The backlog, its oldest row, the dead letters waiting and the circuits are read at scrape time
(a few indexed queries) by the one web process answering the scrape, so they are true however many
processes run, appear once, and no process keeps them as a gauge. Scraping is allowed from
METRICS_ALLOWED_NETWORKS or with the bearer METRICS_TOKEN.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterator
from pathlib import Path

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from identity_project.api_errors import json_error
from identity_project.eventbus.models import DeadLetter, OutboxEvent

log = structlog.get_logger(__name__)

CIRCUIT_STATES = ("closed", "open", "half_open")
_circuit_sources: list[Callable[[], dict[str, str]]] = []


def register_circuits(provider: Callable[[], dict[str, str]]) -> None:
    """An app's circuits, as {name: closed | open | half_open}, read at each scrape."""
    _circuit_sources.append(provider)


class DatabaseStateCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._outbox()
            yield self._dead_letters()
        except DatabaseError as exc:
            # The counters still answer; the database's absence shows in /readyz and the logs.
            log.warning("metrics.database_unavailable", error=type(exc).__name__)
        yield self._circuits()

    @staticmethod
    def _outbox() -> Iterator[Metric]:
        pending = OutboxEvent.objects.all()
        yield GaugeMetricFamily(
            "eventbus_outbox_pending_events", "Outbox rows not sent to the broker yet.", value=pending.count()
        )
        # Ids grow with time, and the primary key finds the first one at once.
        oldest = pending.order_by("id").values_list("created_at", flat=True).first()
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "eventbus_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row not sent yet (0 when none waits).",
            value=max(0.0, age),
        )

    @staticmethod
    def _dead_letters() -> Metric:
        family = GaugeMetricFamily(
            "eventbus_dead_letters_pending",
            "Dead letters waiting for a replay or a discard, by consumer.",
            labels=["consumer"],
        )
        waiting = (
            DeadLetter.objects.filter(status=DeadLetter.Status.PENDING)
            .values_list("consumer")
            .annotate(n=Count("id"))
            .values_list("consumer", "n")
        )
        for consumer, count in waiting:
            family.add_metric([consumer], count)
        return family

    @staticmethod
    def _circuits() -> Metric:
        family = GaugeMetricFamily(
            "circuit_state",
            "1 for each circuit breaker's current state (closed, open, half_open), 0 for the others.",
            labels=["circuit", "state"],
        )
        for source in _circuit_sources:
            try:
                circuits = source()
            except Exception as exc:  # noqa: BLE001 - a cache or database down must not fail the scrape
                log.warning("metrics.circuits_unavailable", error=type(exc).__name__)
                continue
            for name, current in circuits.items():
                for state in CIRCUIT_STATES:
                    family.add_metric([name, state], 1.0 if current == state else 0.0)
        return family


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token and hmac.compare_digest(
        request.META.get("HTTP_AUTHORIZATION", "").encode(), f"Bearer {token}".encode()
    ):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return json_error(request, 405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    if not _allowed(request):
        return json_error(
            request, 403, "permission_denied", "Metrics are served to allowed networks or with the token."
        )
    registry = CollectorRegistry()
    folder = Path(settings.PROMETHEUS_MULTIPROC_DIR)
    # No folder yet: no command started a process that counts (a bare `runserver`).
    if folder.is_dir():
        multiprocess.MultiProcessCollector(registry, path=str(folder))
    registry.register(DatabaseStateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
