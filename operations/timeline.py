"""The last hour of the pipeline minute by minute, for the admin's charts: events handled per
consumer, and commit-to-handled latency percentiles.

Each series is one grouped query over the hour's ProcessedEvent rows (indexed by processed_at);
an event's latency is the time it was handled minus its own time (occurred_at, set in the
transaction that committed it: the outbox row is gone once sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import TruncMinute
from django.utils import timezone

from identity_project.eventbus.models import ProcessedEvent

MINUTES = 60
# Without PostgreSQL's percentile_cont (the embedded SQLite of `make run`), percentiles are
# computed in Python over at most this many of the hour's newest events.
PYTHON_PERCENTILE_SAMPLE = 20_000


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile of an expression."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


@dataclass(frozen=True)
class Timeline:
    minutes: list[datetime]  # the start of each minute, oldest first; the last is the current one
    throughput: dict[str, list[int]]  # consumer: events it handled in each minute
    latency_ms: dict[str, list[float | None]]  # "p50", "p95": per minute, None in a minute without events


def last_hour(consumer_names: list[str]) -> Timeline:
    current = timezone.now().replace(second=0, microsecond=0)
    minutes = [current - timedelta(minutes=MINUTES - 1 - i) for i in range(MINUTES)]
    rows = ProcessedEvent.objects.filter(processed_at__gte=minutes[0]).annotate(
        minute=TruncMinute("processed_at")
    )
    index = {minute: i for i, minute in enumerate(minutes)}

    throughput = {name: [0] * MINUTES for name in consumer_names}
    for row in rows.values("consumer", "minute").annotate(n=Count("id")).order_by():
        if row["minute"] in index:
            throughput.setdefault(row["consumer"], [0] * MINUTES)[index[row["minute"]]] = row["n"]

    latency: dict[str, list[float | None]] = {"p50": [None] * MINUTES, "p95": [None] * MINUTES}
    for minute, percentiles in _latency_percentiles(rows).items():
        if minute in index:
            for name, value in percentiles.items():
                latency[name][index[minute]] = value
    return Timeline(minutes=minutes, throughput=throughput, latency_ms=latency)


def _latency(rows):
    return rows.exclude(occurred_at=None).annotate(
        latency=ExpressionWrapper(F("processed_at") - F("occurred_at"), output_field=DurationField())
    )


def _latency_percentiles(rows) -> dict[datetime, dict[str, float]]:
    with_latency = _latency(rows)
    if connection.vendor == "postgresql":
        grouped = (
            with_latency.values("minute")
            .annotate(p50=PercentileCont(F("latency"), 0.5), p95=PercentileCont(F("latency"), 0.95))
            .order_by()
        )
        return {row["minute"]: {"p50": _ms(row["p50"]), "p95": _ms(row["p95"])} for row in grouped}
    by_minute: dict[datetime, list[float]] = {}
    sample = with_latency.order_by("-processed_at").values_list("minute", "latency")
    for minute, latency in sample[:PYTHON_PERCENTILE_SAMPLE]:
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
