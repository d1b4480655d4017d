"""Appending events to the audit chains: one bulk insert per batch, serialized by the chain lock."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.models import AuditChainHead, AuditEntry
from audit.taxonomy import category_of, severity_of
from identity_project.eventbus import wire

ACTING_USERS = frozenset({"user", "admin"})


def chain_heads(categories: Iterable[str]) -> dict[str, AuditChainHead]:
    """Each category's head, the one its next entry links to (call it holding the chain lock).
    Plain SQL, as the upsert of _sign_heads: every consumed message reads and writes the heads,
    and building the ORM's queries cost more than running them."""
    wanted = list(categories)
    # The table is the model's and the categories are parameters: nothing from outside is in the SQL.
    query = f"SELECT category, last_id, last_hash, count FROM {AuditChainHead._meta.db_table} "  # nosec B608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(query + "WHERE category = ANY(%s)", [wanted])
        else:
            cursor.execute(query + f"WHERE category IN ({', '.join(['%s'] * len(wanted))})", wanted)
        heads = {
            category: AuditChainHead(category=category, last_id=last_id, last_hash=last_hash, count=count)
            for category, last_id, last_hash, count in cursor.fetchall()
        }
    for category in wanted:
        heads.setdefault(
            category, AuditChainHead(category=category, last_id=0, last_hash=chain.GENESIS, count=0)
        )
    return heads


def _occurred_at(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _user_id(envelope: dict[str, Any]) -> str:
    user_id = envelope["data"].get("user_id")
    if user_id:
        return str(user_id)
    actor = envelope["actor"]
    return str(actor.get("id") or "") if actor.get("type") in ACTING_USERS else ""


def entry_row(envelope: dict[str, Any]) -> dict[str, Any]:
    """An entry's column values, as a plain dict: thousands are built a second, and a model
    instance costs more than the row it describes."""
    causation_id = envelope["causation_id"]
    actor = envelope["actor"]
    return {
        "event_id": uuid.UUID(str(envelope["event_id"])),
        "type": envelope["type"],
        "version": envelope["version"],
        "source": envelope["source"],
        "occurred_at": _occurred_at(envelope["occurred_at"]),
        "aggregate_type": envelope["aggregate_type"],
        "aggregate_id": envelope["aggregate_id"],
        "sequence": envelope["sequence"],
        "actor_type": actor["type"],
        "actor_id": str(actor.get("id") or ""),
        "correlation_id": envelope["correlation_id"],
        "causation_id": uuid.UUID(str(causation_id)) if causation_id else None,
        "data": envelope["data"],
        "received_at": None,
        "user_id": _user_id(envelope),
        "severity": severity_of(envelope["type"]),
        "category": category_of(envelope["type"]),
    }


def _already_stored(event_ids: list[uuid.UUID]) -> set[str]:
    # The table is the model's and the ids are parameters: nothing from outside is in the SQL.
    table = AuditEntry._meta.db_table
    field = AuditEntry._meta.get_field("event_id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter: a query text of a thousand placeholders defeats psycopg's cache.
            cursor.execute(f"SELECT event_id FROM {table} WHERE event_id = ANY(%s::uuid[])", [event_ids])  # nosec B608
        else:
            cursor.execute(
                f"SELECT event_id FROM {table} WHERE event_id IN ({', '.join(['%s'] * len(event_ids))})",  # nosec B608
                [field.get_db_prep_value(event_id, connection) for event_id in event_ids],
            )
        return {str(field.to_python(event_id)) for (event_id,) in cursor.fetchall()}


COPY_COLUMNS = ("id", *chain.HASHED_FIELDS, "prev_hash", "hash")


def copy_values(row: dict[str, Any], columns: Sequence[str] = COPY_COLUMNS) -> list[Any]:
    """An entry's values for COPY, in the order of `columns`, its data as JSON text."""
    return [wire.dumps(row["data"]).decode() if name == "data" else row[name] for name in columns]


def _insert(rows: list[dict[str, Any]]) -> None:
    """One bulk insert: COPY on PostgreSQL (several times the rows per second of a multi-row
    INSERT built by the ORM), with ids drawn first so the heads can name them; bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        created = AuditEntry.objects.bulk_create([AuditEntry(**row) for row in rows])
        for row, entry in zip(rows, created, strict=True):
            row["id"] = entry.pk
        return
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        for row, (pk,) in zip(rows, sorted(cursor.fetchall()), strict=True):
            row["id"] = pk
        statement = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(copy_values(row))


HEAD_COLUMNS = ("category", "last_id", "last_hash", "count", "signature", "updated_at")


def _sign_heads(heads: dict[str, AuditChainHead], categories: set[str], now: dt.datetime) -> None:
    """Sign the touched heads and write them, in one upsert (PostgreSQL and SQLite both have it)."""
    touched = [heads[category] for category in sorted(categories)]
    for head in touched:
        head.signature = chain.sign(head.signed_fields())
        head.updated_at = now
    when = AuditChainHead._meta.get_field("updated_at")
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in HEAD_COLUMNS[1:])
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(touched))
    # The table and columns are the model's and the values are parameters: nothing from outside is in the SQL.
    statement = (
        f"INSERT INTO {AuditChainHead._meta.db_table} ({', '.join(HEAD_COLUMNS)}) "  # nosec B608
        f"VALUES {placeholders} ON CONFLICT (category) DO UPDATE SET {updates}"
    )
    params: list[Any] = []
    for head in touched:
        params += [head.category, head.last_id, head.last_hash, head.count, head.signature]
        params.append(when.get_db_prep_value(now, connection))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def entries_append(*, envelopes: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Store one entry per event not stored yet, linked into its category's chain; returns the ids
    of the events stored.

    Events already stored are skipped before hashing (a skipped row would break the chain), so a
    replay, even after the idempotency keys were purged, changes nothing."""
    # Built before taking the lock: the other worker appends meanwhile.
    rows: dict[str, dict[str, Any]] = {}
    for envelope in envelopes:
        key = str(envelope["event_id"])
        if key not in rows:
            rows[key] = entry_row(envelope)
    if not rows:
        return set()
    # No savepoint of its own: inside the consumer's transaction a failure rolls the batch back whole.
    with transaction.atomic(savepoint=False):
        chain.lock_chain()
        for key in _already_stored([row["event_id"] for row in rows.values()]):
            del rows[key]
        if not rows:
            return set()
        # Taken under the lock, so that received_at never goes backwards along a chain.
        now = timezone.now()
        categories = {row["category"] for row in rows.values()}
        heads = chain_heads(categories)
        for row in rows.values():
            row["received_at"] = now
            head = heads[row["category"]]
            row["prev_hash"] = head.last_hash
            row["hash"] = chain.entry_hash(head.last_hash, row)
            head.last_hash = row["hash"]
            head.count += 1
        _insert(list(rows.values()))
        for row in rows.values():
            heads[row["category"]].last_id = row["id"]
        _sign_heads(heads, categories, now)
    return {row["event_id"] for row in rows.values()}
