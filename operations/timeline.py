"""The last hour of the pipeline minute by minute, for the admin's charts: events handled per
consumer, and commit-to-handled latency percentiles.

Each series is one grouped query per consumer over the hour of its record of what it handled
(eventbus/records.py: its claims, or audit's own entries), and one for the latency percentiles
of them all; an event's latency is the time it was handled minus its own time (occurred_at, set
in the transaction that committed it: the outbox row is gone once sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import TruncMinute
from django.utils import timezone

from identity_project.eventbus import consumer_registry

MINUTES = 60
# Without PostgreSQL's percentile_cont (the embedded SQLite of `make run`), percentiles are
# computed in Python over at most this many of the hour's newest events.
PYTHON_PERCENTILE_SAMPLE = 20_000


@dataclass(frozen=True)
class Timeline:
    minutes: list[datetime]  # the start of each minute, oldest first; the last is the current one
    throughput: dict[str, list[int]]  # consumer: events it handled in each minute
    latency_ms: dict[str, list[float | None]]  # "p50", "p95": per minute, None in a minute without events


def last_hour(consumer_names: list[str]) -> Timeline:
    current = timezone.now().replace(second=0, microsecond=0)
    minutes = [current - timedelta(minutes=MINUTES - 1 - i) for i in range(MINUTES)]
    index = {minute: i for i, minute in enumerate(minutes)}

    throughput = {name: [0] * MINUTES for name in consumer_names}
    latencies = []
    for name in consumer_names:
        rows = (
            consumer_registry.get_consumer(name)
            .record.handled(name)
            .filter(handled_at__gte=minutes[0])
            .annotate(minute=TruncMinute("handled_at"))
        )
        for row in rows.values("minute").annotate(n=Count("pk")).order_by():
            if row["minute"] in index:
                throughput[name][index[row["minute"]]] = row["n"]
        took = ExpressionWrapper(F("handled_at") - F("occurred_at"), output_field=DurationField())
        timed = rows.exclude(occurred_at=None).annotate(latency=took)
        latencies.append(timed.values_list("minute", "latency"))

    latency: dict[str, list[float | None]] = {"p50": [None] * MINUTES, "p95": [None] * MINUTES}
    for minute, percentiles in _latency_percentiles(latencies).items():
        if minute in index:
            for name, value in percentiles.items():
                latency[name][index[minute]] = value
    return Timeline(minutes=minutes, throughput=throughput, latency_ms=latency)


def _latency_percentiles(latencies: list[QuerySet]) -> dict[datetime, dict[str, float]]:
    """Per minute, over the (minute, latency) rows of every consumer's record."""
    if not latencies:
        return {}
    if connection.vendor == "postgresql":
        # The records are different tables: one UNION ALL of the consumers' queries, each the
        # ORM's own SQL with its parameters, under PostgreSQL's ordered-set aggregate.
        parts = [rows.order_by().query.sql_with_params() for rows in latencies]
        union = " UNION ALL ".join(f"({sql})" for sql, _ in parts)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT minute, percentile_cont(0.5) WITHIN GROUP (ORDER BY latency), "  # nosec B608
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency) "
                f"FROM ({union}) AS handled (minute, latency) GROUP BY minute",
                [param for _, params in parts for param in params],
            )
            rows = cursor.fetchall()
        # TruncMinute's minutes in the current time zone, as the ORM would have made them aware.
        zone = timezone.get_current_timezone()
        return {
            timezone.make_aware(minute, zone): {"p50": _ms(p50), "p95": _ms(p95)} for minute, p50, p95 in rows
        }
    by_minute: dict[datetime, list[float]] = {}
    for rows in latencies:
        for minute, latency in rows.order_by("-handled_at")[:PYTHON_PERCENTILE_SAMPLE]:
            by_minute.setdefault(minute, []).append(_ms(latency))
    return {
        minute: {"p50": _percentile(values, 0.5), "p95": _percentile(values, 0.95)}
        for minute, values in by_minute.items()
    }


def _ms(duration: timedelta) -> float:
    return duration.total_seconds() * 1000


def _percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks, as percentile_cont does."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
