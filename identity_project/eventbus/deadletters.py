"""The dead-letter store: write, replay, discard, and drain RabbitMQ's dead-letter queues into it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from identity_project import metrics
from identity_project.celery import app
from identity_project.eventbus import consumer_registry, routing
from identity_project.eventbus.envelope import envelope_event_id
from identity_project.eventbus.errors import PermanentError
from identity_project.eventbus.models import DeadLetter

log = structlog.get_logger(__name__)


class NotSubscribed(PermanentError):
    def __init__(self, consumer: str, event_type: str) -> None:
        super().__init__(f"{consumer} does not handle {event_type}")


class DeadLetterError(Exception):
    """A replay or discard that cannot be done (wrong status, broker unreachable)."""


# Work done after an event was applied (an e-mail, a webhook) is dead-lettered under a name of its
# own ("notification.delivery", "integration.webhook"), not the consumer's: its consumer has
# applied the event and would skip it if it were sent again. Replaying such a letter calls the
# redriver registered for that name, which puts the event's failed work back to be done.
Redriver = Callable[[uuid.UUID], int]
_redrivers: dict[str, Redriver] = {}


def redriver(name: str) -> Callable[[Redriver], Redriver]:
    """Register the function that replays the dead letters stored under `name`: given the event
    id, it re-arms that event's failed work and returns how many pieces it re-armed."""

    def register(function: Redriver) -> Redriver:
        _redrivers[name] = function
        return function

    return register


def _key(envelope: Any) -> uuid.UUID:
    """The event id, or for an unreadable envelope a stable id derived from its content, so a
    redelivered broken message still makes one row."""
    event_id = envelope_event_id(envelope)
    if event_id is not None:
        return event_id
    return uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(envelope, sort_keys=True, default=str))


def store(
    *, consumer: str, envelope: Any, reason: str, error: str, traceback: str, attempts: int
) -> DeadLetter:
    """One row per (consumer, event): a second dead-lettering (a redelivery, a failed replay)
    updates it and puts it back to pending."""
    event_id = _key(envelope)
    readable = envelope if isinstance(envelope, dict) else {}
    event_type = readable.get("type", "")
    values = {
        "event_type": str(event_type)[:120],
        "envelope": envelope,
        "reason": reason,
        "error": error[:10_000],
        "traceback": traceback[:50_000],
        "attempts": attempts,
        "status": DeadLetter.Status.PENDING,
        "updated_at": timezone.now(),
    }
    log.error(
        "consumer.dead_lettered",
        consumer=consumer,
        event_id=str(event_id),
        event_type=str(event_type),
        correlation_id=readable.get("correlation_id"),
        attempt=attempts - 1,
        reason=reason,
        error=error,
    )
    for _ in range(2):
        try:
            with transaction.atomic():
                letter, _ = DeadLetter.objects.update_or_create(
                    consumer=consumer, event_id=event_id, defaults=values
                )
        except IntegrityError:
            continue  # a concurrent duplicate inserted it first: update it on the next pass
        metrics.dead_lettered(consumer, reason)
        return letter
    raise DeadLetterError(f"could not store the dead letter of {event_id}")


def replay(letter: DeadLetter) -> DeadLetter:
    """Send the event again to its consumer, with fresh retries (applying it stays idempotent: an
    event its consumer has already applied changes nothing); or, for work dead-lettered under a
    redriver's name, put that event's failed work back to be done."""
    if letter.status == DeadLetter.Status.DISCARDED:
        raise DeadLetterError("a discarded dead letter cannot be replayed")
    if letter.consumer in _redrivers:
        _redrive(letter)
    else:
        _send_again(letter)
    DeadLetter.objects.filter(pk=letter.pk).update(
        status=DeadLetter.Status.REPLAYED, replay_count=letter.replay_count + 1, updated_at=timezone.now()
    )
    letter.refresh_from_db()
    log.info("dead_letter.replayed", **_log_fields(letter))
    return letter


def _send_again(letter: DeadLetter) -> None:
    try:
        consumer = consumer_registry.get_consumer(letter.consumer)
    except KeyError:
        raise DeadLetterError(
            f"{letter.consumer} is not a consumer: this letter is a task message, not an event to replay"
        ) from None
    [(queue, envelopes)] = consumer.route([letter.envelope]) or [(consumer.queue, [letter.envelope])]
    try:
        consumer.send(envelopes, queue=queue)
    except Exception as exc:
        raise DeadLetterError(f"the broker refused the replay: {exc}") from exc


def _redrive(letter: DeadLetter) -> None:
    """Like an event's replay, a second one changes nothing: the work is no longer failed."""
    rearmed = _redrivers[letter.consumer](letter.event_id)
    log.info("dead_letter.redriven", rearmed=rearmed, **_log_fields(letter))


def discard(letter: DeadLetter) -> DeadLetter:
    letter.status = DeadLetter.Status.DISCARDED
    letter.updated_at = timezone.now()
    letter.save(update_fields=["status", "updated_at"])
    log.info("dead_letter.discarded", **_log_fields(letter))
    return letter


def _log_fields(letter: DeadLetter) -> dict[str, Any]:
    envelope = letter.envelope if isinstance(letter.envelope, dict) else {}
    return {
        "consumer": letter.consumer,
        "event_id": str(letter.event_id),
        "event_type": letter.event_type,
        "correlation_id": envelope.get("correlation_id"),
    }


def _consumer_of_queue(queue: str) -> str:
    return next(
        (c.name for c in consumer_registry.all_consumers() if queue in (c.queue, c.urgent_queue)), queue
    )


def drain_dead_letter_queues(limit: int = 1000) -> int:
    """Move what RabbitMQ dead-lettered (messages past their delivery limit) into the store."""
    broker_url = settings.CELERY_BROKER_URL
    if not routing.broker_is_rabbitmq(broker_url):
        return 0
    drained = 0
    with app.connection_for_read() as connection:
        names = routing.queue_names()
        routing.declare_dead_letter_topology(connection, broker_url, names)
        for queue in routing.dead_letter_queues(broker_url, names):
            bound = queue(connection.default_channel)
            source = queue.name.removesuffix(".dlq")
            while drained < limit and (message := bound.get(no_ack=False, accept=["json"])) is not None:
                _store_dead_lettered_message(source, message)
                message.ack()
                drained += 1
    return drained


def _store_dead_lettered_message(queue: str, message) -> None:
    headers = message.headers or {}
    task = str(headers.get("task", ""))
    known = {c.name for c in consumer_registry.all_consumers()}
    consumer = task.removesuffix(".consume")
    deliveries = headers.get("x-delivery-count") or settings.EVENTBUS["DELIVERY_LIMIT"]
    error = f"dead-lettered by RabbitMQ after {deliveries} deliveries: it killed or stalled its worker"
    try:
        args, kwargs = message.payload[0], message.payload[1]
    except (TypeError, IndexError, KeyError):
        args, kwargs = None, None
    if consumer not in known or not args or not isinstance(args[0], list):
        # Not a consumer's batch of events (another task, or unreadable): kept as it came, for
        # a person to look at; it cannot be replayed as an event.
        body = message.body if isinstance(message.body, str) else repr(message.body)
        store(
            consumer=task or _consumer_of_queue(queue),
            envelope={"task": task, "queue": queue, "args": args, "kwargs": kwargs, "body": body[:10_000]},
            reason=DeadLetter.Reason.DELIVERY_LIMIT,
            error=error,
            traceback="",
            attempts=int(deliveries),
        )
        return
    give_up(consumer=consumer, queue=queue, envelopes=args[0], deliveries=int(deliveries), error=error)


def give_up(*, consumer: str, queue: str, envelopes: list[Any], deliveries: int, error: str) -> None:
    """A consumer's message past its delivery limit (it killed or stalled its worker each time).
    A batch is sent again event by event, so only the event that really kills the worker ends
    here and the others are applied; a single event becomes a dead letter."""
    if len(envelopes) > 1:
        target = consumer_registry.get_consumer(consumer)
        for envelope in envelopes:
            target.send([envelope], queue=queue)
        return
    for envelope in envelopes:
        store(
            consumer=consumer,
            envelope=envelope,
            reason=DeadLetter.Reason.DELIVERY_LIMIT,
            error=error,
            traceback="",
            attempts=deliveries,
        )
