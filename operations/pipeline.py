"""The state of the pipeline at a glance (ops/pipeline, manage.py trace): what waits, what fails,
what is dead-lettered, how long events take from commit to each consumer.

Apps add sections of their own (integration: its circuits) with `register_section`; the event
bus knows no domain. The outbox holds only what waits to be sent: the story of sent events comes
from the app that keeps every event (audit), which registers it with `register_history`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from identity_project.celery import app
from identity_project.eventbus import consumer_registry, routing
from identity_project.eventbus.models import DeadLetter, DeliveryFailure, OutboxEvent

if TYPE_CHECKING:
    from identity_project.eventbus.consumers import Consumer

LATENCY_SAMPLE = 1000


@dataclass(frozen=True)
class StoryEvent:
    """One event of a story: still waiting in the outbox, or kept (with when it was kept)."""

    event_id: Any
    type: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    occurred_at: datetime
    kept_at: datetime | None = None


_sections: dict[str, Callable[[], Any]] = {}
_history: list[Callable[[str], list[StoryEvent]]] = []


def register_section(name: str, provider: Callable[[], Any]) -> None:
    _sections[name] = provider


def register_history(provider: Callable[[str], list[StoryEvent]]) -> None:
    """`provider(correlation_id)`: the sent events of one story, as the app that keeps them has them."""
    _history.append(provider)


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}


def _handled(consumer: Consumer):
    """The consumer's record of what it handled (eventbus/records.py): its claims, or its own rows."""
    return consumer.record.handled(consumer.name)


def _latencies_ms(consumer: Consumer) -> list[float]:
    """The event's time (set in its committing transaction) to handled, for the consumer's latest
    events."""
    recent = (
        _handled(consumer)
        .filter(occurred_at__isnull=False)
        .order_by("-pk")
        .values_list("occurred_at", "handled_at")[:LATENCY_SAMPLE]
    )
    return [(handled - occurred).total_seconds() * 1000 for occurred, handled in recent]


def queue_depths() -> dict[str, int | str]:
    """Messages ready in each queue (RabbitMQ or Redis); the filesystem broker does not say."""
    broker_url = settings.CELERY_BROKER_URL
    if not (routing.broker_is_rabbitmq(broker_url) or routing.broker_is_redis(broker_url)):
        return {}
    depths: dict[str, int | str] = {}
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            for name in routing.queue_names():
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except Exception:  # noqa: BLE001 - a queue not declared yet, or the channel closed by it
                    depths[name] = "unknown"
                    channel = connection.channel()
    except Exception as exc:  # noqa: BLE001 - the broker down is part of the picture, not an error
        return {"error": f"broker unavailable: {type(exc).__name__}"}
    return depths


def snapshot() -> dict[str, Any]:
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    pending = OutboxEvent.objects.aggregate(count=Count("id"), oldest=Min("created_at"))
    failures = {
        (row["consumer"], row["transient"]): row["n"]
        for row in DeliveryFailure.objects.filter(created_at__gte=hour_ago)
        .values("consumer", "transient")
        .annotate(n=Count("id"))
    }
    dead = dict(
        DeadLetter.objects.filter(status=DeadLetter.Status.PENDING)
        .values_list("consumer")
        .annotate(n=Count("id"))
        .values_list("consumer", "n")
    )
    per_consumer = {}
    for consumer in consumer_registry.all_consumers():
        name = consumer.name
        per_consumer[name] = {
            "processed_last_hour": _handled(consumer).filter(handled_at__gte=hour_ago).count(),
            "retried_last_hour": failures.get((name, True), 0),
            "failed_last_hour": failures.get((name, False), 0),
            "dead_letters": dead.get(name, 0),
            "latency_ms": _percentiles(_latencies_ms(consumer)),
        }
    return {
        "outbox": {
            "pending": pending["count"],
            "oldest_age_seconds": round((now - pending["oldest"]).total_seconds(), 1)
            if pending["oldest"]
            else None,
        },
        "queues": queue_depths(),
        "consumers": per_consumer,
        "dead_letters": dead,
        **{name: provider() for name, provider in _sections.items()},
    }


def story(correlation_id: str) -> list[dict[str, Any]]:
    """Every event of one request or task, with what each consumer did with it."""
    events = {event.event_id: event for provider in _history for event in provider(correlation_id)}
    in_outbox = set()
    for row in OutboxEvent.objects.filter(correlation_id=correlation_id):
        in_outbox.add(row.event_id)
        events.setdefault(
            row.event_id,
            StoryEvent(row.event_id, row.type, row.aggregate_type, row.aggregate_id, row.sequence,
                       occurred_at=row.created_at),
        )  # fmt: skip
    events = sorted(events.values(), key=lambda event: event.occurred_at)
    ids = [e.event_id for e in events]
    handled = {}
    for consumer in consumer_registry.all_consumers():
        story_rows = _handled(consumer).filter(event_id__in=ids)
        for event_id, when in story_rows.values_list("event_id", "handled_at"):
            handled[(event_id, consumer.name)] = when
    failed: dict[Any, list] = {}
    for failure in DeliveryFailure.objects.filter(event_id__in=ids).order_by("id"):
        failed.setdefault(failure.event_id, []).append(failure)
    dead = {(d.event_id, d.consumer): d for d in DeadLetter.objects.filter(event_id__in=ids)}
    # A consumer the relay sends only what it wants at the time (integration) is told of an event
    # it left no trace of only if it would be sent it: wanted now if the event waits in the
    # outbox, wanted since the event committed if the relay sent it.
    wanted = {consumer.name: consumer.wants_now() for consumer in consumer_registry.all_consumers()}
    told = []
    for event in events:
        outcomes = []
        for consumer in consumer_registry.all_consumers():
            if not consumer.subscribes(event.type):
                continue
            attempts = [f for f in failed.get(event.event_id, []) if f.consumer == consumer.name]
            letter = dead.get((event.event_id, consumer.name))
            when = handled.get((event.event_id, consumer.name))
            committed_at = None if event.event_id in in_outbox else event.occurred_at
            if not (when or letter or attempts or wanted[consumer.name](event.type, committed_at)):
                continue
            outcome = "handled" if when else f"dead-lettered ({letter.reason})" if letter else "waiting"
            outcomes.append(
                {
                    "consumer": consumer.name,
                    "outcome": outcome,
                    "handled_at": when,
                    "failed_attempts": [f"attempt {f.attempt}: {f.error}" for f in attempts],
                }
            )
        told.append({"event": event, "outcomes": outcomes})
    return told
