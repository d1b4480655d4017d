"""Claiming events for a consumer, once: the (consumer, event_id) rows of ProcessedEvent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from identity_project.eventbus.models import ProcessedEvent


def claim(consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Record the events as processed by `consumer` in the current transaction and return the
    ids that were new. One INSERT ... ON CONFLICT DO NOTHING RETURNING (PostgreSQL and SQLite
    both have it): a duplicate is skipped without an IntegrityError breaking the transaction.

    On PostgreSQL the ids travel as one array: a VALUES list of a thousand rows is a query text
    too long for psycopg's statement cache, and parsing it again costs more than the insert."""
    if not event_ids:
        return set()
    table = ProcessedEvent._meta.db_table
    field = ProcessedEvent._meta.get_field("event_id")
    now = timezone.now()
    # The table is the model's and the values are placeholders: nothing from outside is in the SQL.
    returning = "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
    if connection.vendor == "postgresql":
        query = f"INSERT INTO {table} (consumer, event_id, processed_at) SELECT %s, unnest(%s::uuid[]), %s"  # nosec B608
        params: list[object] = [consumer, list(event_ids), now]
    else:
        query = f"INSERT INTO {table} (consumer, event_id, processed_at) VALUES "  # nosec B608
        query += ", ".join(["(%s, %s, %s)"] * len(event_ids))
        params = []
        for event_id in event_ids:
            params += [consumer, field.get_db_prep_value(event_id, connection), now]
    with connection.cursor() as cursor:
        cursor.execute(f"{query} {returning}", params)
        rows = cursor.fetchall()
    return {field.to_python(row[0]) for row in rows}
