"""publish(): the only way an event leaves a service; enqueue(), the way a task is started.

publish() writes the outbox row in the caller's transaction and returns: nothing in the
publishing thread ever talks to the broker, so a slow, blocked or absent broker delays delivery,
never a request or a task's commit. After commit it rings the relay's doorbell (doorbell.py), and
the relay (relay.py) sends the rows at once. Delivery from commit to broker is at least once;
consumers are idempotent on event_id.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from celery import Task
from django.db import connection, transaction
from django.dispatch import Signal
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
from identity_project.eventbus.models import AggregateSequence, OutboxEvent, OutboxTask


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
    [envelope] = publish_all([event], actor=actor, causation_id=causation_id, occurred_at=occurred_at)
    return envelope


def publish_all(
    events: Sequence[Event],
    *,
    actor: Actor | None = None,
    causation_id: uuid.UUID | None = None,
    occurred_at=None,
) -> list[dict[str, Any]]:
    """publish() for the events of one change, in their order: one statement bumps the sequences
    of all their aggregates and one INSERT writes all their rows, instead of two statements for
    each event. Returns the envelopes."""
    checked = [(event, _validated(event), uuid.uuid4()) for event in events]
    actor = actor or current_actor()
    correlation_id, causation_id = current_correlation_id(), causation_id or current_causation_id()
    occurred_at = occurred_at or timezone.now()
    with transaction.atomic(savepoint=False):
        sequences = _sequences(checked)
        envelopes = [
            build(
                event, data=data, event_id=event_id, aggregate_id=aggregate_id, sequence=sequence,
                actor=actor, correlation_id=correlation_id, causation_id=causation_id,
                occurred_at=occurred_at,
            )
            for (event, data, event_id), (aggregate_id, sequence) in zip(checked, sequences, strict=True)
        ]  # fmt: skip
        OutboxEvent.objects.bulk_create(
            [
                OutboxEvent(
                    event_id=envelope["event_id"], type=envelope["type"], version=envelope["version"],
                    aggregate_type=envelope["aggregate_type"], aggregate_id=envelope["aggregate_id"],
                    sequence=envelope["sequence"], correlation_id=correlation_id, envelope=envelope,
                )
                for envelope in envelopes
            ]
        )  # fmt: skip
        written.send(sender=OutboxEvent, envelopes=envelopes)
        doorbell.ring_after_commit()
    return envelopes


# Sent in the writing transaction with the envelopes just written (the tests' recorder listens).
written = Signal()


def enqueue(task: Task, *args: Any, queue: str) -> None:
    """Start `task(*args)` once the caller's transaction commits, as the relay sends it (never
    from this thread): for work that is no event, such as a mail whose secret no event carries.
    The arguments are kept in the database until sent: never a secret."""
    with transaction.atomic(savepoint=False):
        OutboxTask.objects.create(name=task.name, args=list(args), queue=queue)
        doorbell.ring_after_commit()


def _validated(event: Event) -> dict[str, Any]:
    data = event.to_data()
    try:
        registry.validate(type(event), data)
    except SchemaViolation as exc:
        raise EventInvalid(f"{event.type}: {exc}") from exc
    return data


def _sequences(checked: list[tuple[Event, dict[str, Any], uuid.UUID]]) -> list[tuple[str, int]]:
    """(aggregate_id, sequence) of each event. The counters of all the aggregates are bumped in
    this transaction by one statement, in a fixed order (their row locks order concurrent writers
    without a deadlock); an aggregate with n events here gets the n numbers after its last."""
    keys = [
        None if (aggregate_id := event.aggregate_id()) is None else (event.aggregate_type, aggregate_id)
        for event, _, _ in checked
    ]
    wanted = Counter(filter(None, keys))
    last = _bump(sorted(wanted.items())) if wanted else {}
    given: dict[tuple[str, str], int] = {}
    result = []
    for key, (_, _, event_id) in zip(keys, checked, strict=True):
        if key is None:
            # No aggregate (a failed login for an unknown e-mail): the event stands alone.
            result.append((str(event_id), 1))
            continue
        given[key] = given.get(key, 0) + 1
        result.append((key[1], last[key] - wanted[key] + given[key]))
    return result


def _bump(counts: list[tuple[tuple[str, str], int]]) -> dict[tuple[str, str], int]:
    table = AggregateSequence._meta.db_table  # the model's own table: nothing from outside is in the SQL
    values = ", ".join(["(%s, %s, %s)"] * len(counts))
    params = [
        value for (aggregate_type, aggregate_id), n in counts for value in (aggregate_type, aggregate_id, n)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (aggregate_type, aggregate_id, last_sequence) VALUES {values} "  # nosec B608
            f"ON CONFLICT (aggregate_type, aggregate_id) "
            f"DO UPDATE SET last_sequence = {table}.last_sequence + excluded.last_sequence "
            f"RETURNING aggregate_type, aggregate_id, last_sequence",
            params,
        )
        return {
            (aggregate_type, aggregate_id): last for aggregate_type, aggregate_id, last in cursor.fetchall()
        }
