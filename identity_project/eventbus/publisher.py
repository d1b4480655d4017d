"""publish(): the only way an event leaves a service; and dispatch(), which sends outbox rows.

publish() writes the outbox row in the caller's transaction. After commit the fast path sends
the transaction's events at once; whatever it could not send (broker down, process killed)
stays pending and the relay (relay.py) sends it. Delivery from commit to broker is at least
once; consumers are idempotent on event_id.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from identity_project import metrics
from identity_project.celery import app
from identity_project.eventbus import consumers as consumer_registry
from identity_project.eventbus.catalog import Event, SchemaViolation, registry
from identity_project.eventbus.context import (
    Actor,
    current_actor,
    current_causation_id,
    current_correlation_id,
)
from identity_project.eventbus.envelope import build
from identity_project.eventbus.models import AggregateSequence, OutboxEvent

log = structlog.get_logger(__name__)


class EventInvalid(Exception):
    """A producer tried to publish data that breaks its event's schema (a bug, never retried)."""


def publish(
    event: Event,
    *,
    actor: Actor | None = None,
    causation_id: uuid.UUID | None = None,
    occurred_at=None,
) -> dict[str, Any]:
    """Validate `event`, wrap it in its envelope and write it to the outbox, atomically with
    the caller's transaction. Returns the envelope."""
    data = event.to_data()
    try:
        registry.validate(type(event), data)
    except SchemaViolation as exc:
        raise EventInvalid(f"{event.type}: {exc}") from exc

    event_id = uuid.uuid4()
    with transaction.atomic(savepoint=False):
        aggregate_id = event.aggregate_id()
        if aggregate_id is None:
            # No aggregate (a failed login for an unknown e-mail): the event stands alone.
            aggregate_id, sequence = str(event_id), 1
        else:
            sequence = _next_sequence(event.aggregate_type, aggregate_id)
        envelope = build(
            event,
            event_id=event_id,
            aggregate_id=aggregate_id,
            sequence=sequence,
            actor=actor or current_actor(),
            correlation_id=current_correlation_id(),
            causation_id=causation_id or current_causation_id(),
            occurred_at=occurred_at or timezone.now(),
        )
        row = OutboxEvent.objects.create(
            event_id=event_id,
            type=event.type,
            version=event.version,
            aggregate_type=event.aggregate_type,
            aggregate_id=aggregate_id,
            sequence=sequence,
            correlation_id=envelope["correlation_id"],
            envelope=envelope,
        )
        if settings.EVENTBUS["FAST_PATH"]:
            _dispatch_after_commit(row.pk)
    return envelope


def _next_sequence(aggregate_type: str, aggregate_id: str) -> int:
    """Bump the aggregate's counter in this transaction; its row lock orders concurrent writers."""
    table = AggregateSequence._meta.db_table  # the model's own table: nothing from outside is in the SQL
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (aggregate_type, aggregate_id, last_sequence) VALUES (%s, %s, 1) "  # nosec B608
            f"ON CONFLICT (aggregate_type, aggregate_id) "
            f"DO UPDATE SET last_sequence = {table}.last_sequence + 1 RETURNING last_sequence",
            [aggregate_type, aggregate_id],
        )
        return cursor.fetchone()[0]


# --- the on-commit fast path ----------------------------------------------------------------
# Rows published in one transaction are sent together after it commits (one message per batch
# consumer). The ids wait on the connection; rows from a rolled-back savepoint or transaction
# never exist, and the flush reads the rows back, so only committed events are ever sent.
_PENDING_ATTR = "_eventbus_pending_outbox_ids"
_fast_path_paused_until = 0.0
FAST_PATH_PAUSE = 5.0


def _dispatch_after_commit(outbox_id: int) -> None:
    pending = getattr(connection, _PENDING_ATTR, None)
    if pending is None:
        pending = []
        setattr(connection, _PENDING_ATTR, pending)
    pending.append(outbox_id)
    transaction.on_commit(_flush_pending, robust=True)


def _flush_pending() -> None:
    global _fast_path_paused_until
    ids = getattr(connection, _PENDING_ATTR, None)
    if not ids:
        return
    setattr(connection, _PENDING_ATTR, [])
    if time.monotonic() < _fast_path_paused_until:
        return  # the broker failed a moment ago: leave these to the relay
    try:
        dispatch_pending(OutboxEvent.objects.filter(pk__in=ids))
    except Exception as exc:  # noqa: BLE001 - the rows stay pending and the relay sends them
        _fast_path_paused_until = time.monotonic() + FAST_PATH_PAUSE
        log.warning("outbox.fast_path_failed", error=str(exc), pending=len(ids))


# --- sending --------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def dispatch_pending(rows: QuerySet[OutboxEvent], *, limit: int | None = None) -> int:
    """Send the rows of `rows` not dispatched yet (at most `limit`, oldest first) and mark them
    dispatched, in one transaction; returns how many were sent.

    The rows are marked first, by one UPDATE ... RETURNING that also locks them, and sent after:
    a relay batch used to take a SELECT ... FOR UPDATE and an UPDATE of the same thousand rows,
    twice PostgreSQL's work (measured at half the relay's database time). If the broker refuses
    or cannot be reached, the rollback leaves the rows pending, with the failure counted on them."""
    taken: list[tuple[int, dict[str, Any]]] = []
    try:
        with transaction.atomic():
            taken = _mark_dispatched(rows, limit)
            dispatch([envelope for _, envelope in taken])
    except Exception as exc:
        if taken:
            OutboxEvent.objects.filter(pk__in=[pk for pk, _ in taken]).update(
                attempts=F("attempts") + 1, last_error=repr(exc)[:2000]
            )
        raise
    metrics.events_published(envelope["type"] for _, envelope in taken)
    return len(taken)


def _mark_dispatched(rows: QuerySet[OutboxEvent], limit: int | None) -> list[tuple[int, dict[str, Any]]]:
    """(id, envelope) of the rows marked, oldest first: plain tuples, since the relay and the fast
    path take thousands of rows a second and need nothing else of them."""
    pending = rows.filter(dispatched_at__isnull=True).order_by("pk")[:limit]
    now = timezone.now()
    if connection.vendor != "postgresql":
        marked = list(pending.values_list("pk", "envelope"))
        OutboxEvent.objects.filter(pk__in=[pk for pk, _ in marked]).update(dispatched_at=now)
        return marked
    subquery, params = pending.values("pk").query.sql_with_params()
    # The subquery is the ORM's, with its parameters; the table is the model's. The outer
    # "dispatched_at IS NULL" is checked again on a row another sender updated while this one
    # waited for its lock, so a row is never taken twice.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutboxEvent._meta.db_table} SET dispatched_at = %s "  # nosec B608
            f"WHERE dispatched_at IS NULL AND id IN ({subquery}) RETURNING id, envelope::text",
            [now, *params],
        )
        marked = sorted(cursor.fetchall())
    return [(pk, json.loads(envelope)) for pk, envelope in marked]


def dispatch(envelopes: Sequence[dict[str, Any]]) -> None:
    """Send each envelope to every consumer subscribed to its type: one message per batch_size
    events of a consumer. Raises when the broker refuses or cannot be reached."""
    if not envelopes:
        return
    with app.producer_or_acquire() as producer:
        for consumer in consumer_registry.all_consumers():
            for queue, group in consumer.route(envelopes):
                for chunk in _chunks(group, consumer.batch_size):
                    consumer.send(chunk, queue=queue, producer=producer)
