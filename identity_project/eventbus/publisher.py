"""publish(): the only way an event leaves a service.

publish() writes the outbox row in the caller's transaction and returns: nothing in the
publishing thread ever talks to the broker, so a slow, blocked or absent broker delays delivery,
never a request or a task's commit. After commit it rings the relay's doorbell (doorbell.py), and
the relay (relay.py) sends the rows at once. Delivery from commit to broker is at least once;
consumers are idempotent on event_id.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from identity_project.eventbus import doorbell
from identity_project.eventbus.catalog import Event, SchemaViolation, registry
from identity_project.eventbus.context import (
    Actor,
    current_actor,
    current_causation_id,
    current_correlation_id,
)
from identity_project.eventbus.envelope import build
from identity_project.eventbus.models import AggregateSequence, OutboxEvent


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
        OutboxEvent.objects.create(
            event_id=event_id,
            type=event.type,
            version=event.version,
            aggregate_type=event.aggregate_type,
            aggregate_id=aggregate_id,
            sequence=sequence,
            correlation_id=envelope["correlation_id"],
            envelope=envelope,
        )
        doorbell.ring_after_commit()
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
