"""What a benchmark reads back: queue depths, and the consumers' records of what they handled
(eventbus/records.py: their claims, or audit's entries): counts, drain rates, throughput over time."""

from __future__ import annotations

from collections import Counter
from datetime import datetime


def queue_depth(queue: str) -> int:
    from identity_project.celery import app

    with app.connection_for_read() as connection:
        _, ready, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        return ready


def _handled(consumer: str):
    from identity_project.eventbus.consumer_registry import get_consumer

    return get_consumer(consumer).record.handled(consumer)


def processed(consumer: str) -> int:
    return _handled(consumer).count()


def drain_rate(consumer: str) -> dict:
    """Events per second a consumer handled, from the times its record gives them, so that process
    start-up never counts. That time is taken as a transaction starts (a claim, or audit's
    received_at under its chain lock): between the first and the last, every transaction but the
    last one ran."""
    from django.db.models import Count, Max, Min

    rows = _handled(consumer)
    summary = rows.aggregate(count=Count("pk"), first=Min("handled_at"), last=Max("handled_at"))
    count = summary["count"]
    if not count:
        return {"events": 0, "seconds": 0.0, "rate": 0.0}
    in_last = rows.filter(handled_at=summary["last"]).count()
    seconds = (summary["last"] - summary["first"]).total_seconds()
    rate = (count - in_last) / seconds if seconds > 0 else 0.0
    return {"events": count, "seconds": round(seconds, 3), "rate": round(rate, 1)}


def timeline(consumer: str, since: datetime) -> list[int]:
    """Events a consumer handled in each second from `since` on (throughput over time)."""
    times = _handled(consumer).filter(handled_at__gte=since).values_list("handled_at", flat=True)
    seconds = Counter(int((when - since).total_seconds()) for when in times.iterator())
    per_second = [0] * (max(seconds) + 1 if seconds else 0)
    for second, count in seconds.items():
        per_second[second] = count
    return per_second
