"""Claiming events for a consumer, once: the (consumer, event_id) rows of ProcessedEvent."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from identity_project.eventbus.models import ProcessedEvent


def claim(consumer: str, events: Sequence[tuple[uuid.UUID, dt.datetime]]) -> set[uuid.UUID]:
    """Record the events, (event_id, occurred_at) pairs, as processed by `consumer` in the current
    transaction and return the ids that were new. One INSERT ... ON CONFLICT DO NOTHING RETURNING
    (PostgreSQL and SQLite both have it): a duplicate is skipped without an IntegrityError
    breaking the transaction.

    On PostgreSQL the values travel as arrays: a VALUES list of a thousand rows is a query text
    too long for psycopg's statement cache, and parsing it again costs more than the insert."""
    if not events:
        return set()
    table = ProcessedEvent._meta.db_table
    field = ProcessedEvent._meta.get_field("event_id")
    when = ProcessedEvent._meta.get_field("occurred_at")
    now = timezone.now()
    # The table is the model's and the values are placeholders: nothing from outside is in the SQL.
    columns = "(consumer, event_id, occurred_at, processed_at)"
    returning = "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
    if connection.vendor == "postgresql":
        query = f"INSERT INTO {table} {columns} SELECT %s, unnest(%s::uuid[]), unnest(%s::timestamptz[]), %s"  # nosec B608
        params: list[object] = [consumer, [e for e, _ in events], [t for _, t in events], now]
    else:
        query = f"INSERT INTO {table} {columns} VALUES "  # nosec B608
        query += ", ".join(["(%s, %s, %s, %s)"] * len(events))
        params = []
        for event_id, occurred_at in events:
            params += [
                consumer,
                field.get_db_prep_value(event_id, connection),
                when.get_db_prep_value(occurred_at, connection),
                now,
            ]
    with connection.cursor() as cursor:
        cursor.execute(f"{query} {returning}", params)
        rows = cursor.fetchall()
    return {field.to_python(row[0]) for row in rows}
