"""What a benchmark reads back: queue depths, and the consumers' claims (counts, drain rates,
throughput over time)."""

from __future__ import annotations

from datetime import datetime


def queue_depth(queue: str) -> int:
    from identity_project.celery import app

    with app.connection_for_read() as connection:
        _, ready, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        return ready


def processed(consumer: str) -> int:
    from identity_project.eventbus.models import ProcessedEvent

    return ProcessedEvent.objects.filter(consumer=consumer).count()


def drain_rate(consumer: str) -> dict:
    """Events per second a consumer handled, from its claims' timestamps, so that process start-up
    never counts. A claim is taken as a transaction starts: between the first claim and the last,
    every transaction but the last one ran."""
    from django.db import connection

    from identity_project.eventbus.models import ProcessedEvent

    table = ProcessedEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(processed_at), max(processed_at), count(*) FILTER (WHERE processed_at = "
            f"(SELECT max(processed_at) FROM {table} WHERE consumer = %s)) FROM {table} WHERE consumer = %s",
            [consumer, consumer],
        )
        count, first, last, in_last = cursor.fetchone()
    seconds = (last - first).total_seconds() if count else 0.0
    rate = (count - in_last) / seconds if seconds > 0 else 0.0
    return {"events": count, "seconds": round(seconds, 3), "rate": round(rate, 1)}


def timeline(consumer: str, since: datetime) -> list[int]:
    """Events a consumer handled in each second from `since` on (throughput over time)."""
    from django.db import connection

    from identity_project.eventbus.models import ProcessedEvent

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT floor(extract(epoch FROM processed_at - %s))::int AS s, count(*) "
            f"FROM {ProcessedEvent._meta.db_table} WHERE consumer = %s AND processed_at >= %s "
            f"GROUP BY s ORDER BY s",
            [since, consumer, since],
        )
        rows = cursor.fetchall()
    per_second = [0] * ((rows[-1][0] + 1) if rows else 0)
    for second, count in rows:
        per_second[second] = count
    return per_second
