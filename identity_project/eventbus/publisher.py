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
from contextlib import nullcontext
from typing import Any

from celery import Task
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from identity_project.eventbus import doorbell, wire
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
    """publish() for the events of one change, in their order, written together: on PostgreSQL
    one statement bumps the sequences of all their aggregates and writes all their rows, the
    round trip a request pays per change (called outside a transaction, that statement is the
    transaction); elsewhere two. Returns the envelopes."""
    checked = [(event, _validated(event), uuid.uuid4()) for event in events]
    actor = actor or current_actor()
    correlation_id, causation_id = current_correlation_id(), causation_id or current_causation_id()
    occurred_at = occurred_at or timezone.now()
    numbered, counts = _numbered(checked)
    envelopes = [
        build(
            event, data=data, event_id=event_id, aggregate_id=aggregate_id, sequence=0,
            actor=actor, correlation_id=correlation_id, causation_id=causation_id,
            occurred_at=occurred_at,
        )
        for (event, data, event_id), (aggregate_id, _, _) in zip(checked, numbered, strict=True)
    ]  # fmt: skip
    one_statement = connection.vendor == "postgresql"
    # Outside a transaction that one statement is a transaction of its own: no BEGIN and COMMIT
    # round trips around it (two of a lone publish's three).
    alone = one_statement and connection.get_autocommit()
    with nullcontext() if alone else transaction.atomic(savepoint=False):
        write = _write_in_one_statement if one_statement else _write_in_two
        for envelope, sequence in zip(envelopes, write(envelopes, numbered, counts), strict=True):
            envelope["sequence"] = sequence
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


# (aggregate_id, n, of): the event is the n-th of `of` events of its aggregate in this change; `of`
# is None for an event without an aggregate (a failed login for an unknown e-mail), which stands
# alone: its own id is its aggregate id and its sequence is 1.
Numbered = tuple[str, int, int | None]


# (aggregate_type, aggregate_id, events) of each aggregate, in a fixed order: the row locks of the
# bump then order concurrent writers without a deadlock.
Counts = list[tuple[str, str, int]]


def _numbered(checked: list[tuple[Event, dict[str, Any], uuid.UUID]]) -> tuple[list[Numbered], Counts]:
    keys = [
        None if (aggregate_id := event.aggregate_id()) is None else (event.aggregate_type, aggregate_id)
        for event, _, _ in checked
    ]
    wanted = Counter(filter(None, keys))
    given: Counter[tuple[str, str]] = Counter()
    numbered: list[Numbered] = []
    for key, (_, _, event_id) in zip(keys, checked, strict=True):
        if key is None:
            numbered.append((str(event_id), 1, None))
            continue
        given[key] += 1
        numbered.append((key[1], given[key], wanted[key]))
    return numbered, [
        (aggregate_type, aggregate_id, n) for (aggregate_type, aggregate_id), n in sorted(wanted.items())
    ]


def _write_in_one_statement(
    envelopes: list[dict[str, Any]], numbered: list[Numbered], counts: Counts
) -> list[int]:
    """Bump the sequences and insert the rows in one statement (a data-modifying CTE), each row's
    sequence and its envelope's `sequence` from the bumped counter; returns the sequences.

    An aggregate with n events here gets the n numbers after its last; a rollback gives them
    back, so sequences have no gaps."""
    outbox = OutboxEvent._meta.db_table
    # No aggregate among the events: an empty `bumped`, which joins nothing.
    bumped = _bump_statement(counts) if counts else "SELECT NULL, NULL, NULL::bigint WHERE false"
    row = "(%s::uuid, %s, %s::smallint, %s, %s, %s, %s::jsonb, %s::int, %s::int)"
    statement = (
        f"WITH bumped (aggregate_type, aggregate_id, last_sequence) AS ({bumped}), "  # nosec B608
        "events (event_id, type, version, aggregate_type, aggregate_id, correlation_id, envelope, n, of) "
        f"AS (VALUES {', '.join([row] * len(envelopes))}) "
        f"INSERT INTO {outbox} (event_id, type, version, aggregate_type, aggregate_id, sequence, "
        "correlation_id, envelope, created_at, attempts, last_error) "
        "SELECT e.event_id, e.type, e.version, e.aggregate_type, e.aggregate_id, given.sequence, "
        "e.correlation_id, jsonb_set(e.envelope, '{sequence}', to_jsonb(given.sequence)), %s, 0, '' "
        "FROM events e LEFT JOIN bumped b ON e.of IS NOT NULL "
        "AND (b.aggregate_type, b.aggregate_id) = (e.aggregate_type, e.aggregate_id) "
        "CROSS JOIN LATERAL (SELECT COALESCE(b.last_sequence - e.of + e.n, 1) AS sequence) given "
        "RETURNING event_id, sequence"
    )  # the models' own table names and placeholders: every value is a parameter
    params: list[Any] = [value for count in counts for value in count]
    for envelope, (_, n, of) in zip(envelopes, numbered, strict=True):
        params += [
            envelope["event_id"], envelope["type"], envelope["version"], envelope["aggregate_type"],
            envelope["aggregate_id"], envelope["correlation_id"], wire.dumps(envelope).decode(), n, of,
        ]  # fmt: skip
    params.append(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        given = {str(event_id): sequence for event_id, sequence in cursor.fetchall()}
    return [given[envelope["event_id"]] for envelope in envelopes]


def _write_in_two(envelopes: list[dict[str, Any]], numbered: list[Numbered], counts: Counts) -> list[int]:
    """The same in two statements, for SQLite (which has no data-modifying CTE): the bump, then
    the rows; returns the sequences."""
    last = _bump(counts) if counts else {}
    result = [
        n if of is None else last[(envelope["aggregate_type"], aggregate_id)] - of + n
        for envelope, (aggregate_id, n, of) in zip(envelopes, numbered, strict=True)
    ]
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                event_id=envelope["event_id"], type=envelope["type"], version=envelope["version"],
                aggregate_type=envelope["aggregate_type"], aggregate_id=envelope["aggregate_id"],
                sequence=sequence, correlation_id=envelope["correlation_id"],
                envelope={**envelope, "sequence": sequence},
            )
            for envelope, sequence in zip(envelopes, result, strict=True)
        ]
    )  # fmt: skip
    return result


def _bump_statement(counts: Counts) -> str:
    """The upsert that adds each aggregate's count of events to its last sequence and returns
    the new last ones; its parameters are the counts, flattened."""
    table = AggregateSequence._meta.db_table  # the model's own table: nothing from outside is in the SQL
    return (
        f"INSERT INTO {table} (aggregate_type, aggregate_id, last_sequence) "  # nosec B608
        f"VALUES {', '.join(['(%s, %s, %s)'] * len(counts))} "
        f"ON CONFLICT (aggregate_type, aggregate_id) "
        f"DO UPDATE SET last_sequence = {table}.last_sequence + excluded.last_sequence "
        f"RETURNING aggregate_type, aggregate_id, last_sequence"
    )


def _bump(counts: Counts) -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(_bump_statement(counts), [value for count in counts for value in count])
        return {
            (aggregate_type, aggregate_id): last for aggregate_type, aggregate_id, last in cursor.fetchall()
        }
