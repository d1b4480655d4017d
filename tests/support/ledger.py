"""What a test or a benchmark committed, kept apart from the outbox (which the relay empties as
it sends): a trigger of its own copies each outbox row into a table of its own, in the committing
transaction, so a rolled-back event is never counted, whichever process committed it. PostgreSQL
only; install before the first event of the run, remove at its end."""

from __future__ import annotations

import json

from django.db import connection

from audit.models import AuditEntry
from identity_project.eventbus.models import OutboxEvent

LEDGER = "committed_ledger"


def install() -> None:
    outbox = OutboxEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {LEDGER} (event_id uuid PRIMARY KEY, type text, envelope jsonb)")
        cursor.execute(
            f"CREATE FUNCTION {LEDGER}_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {LEDGER} VALUES (NEW.event_id, NEW.type, NEW.envelope) ON CONFLICT DO NOTHING; "
            f"RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER {LEDGER}_keep AFTER INSERT ON {outbox} "
            f"FOR EACH ROW EXECUTE FUNCTION {LEDGER}_keep()"
        )


def remove() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {LEDGER}_keep ON {OutboxEvent._meta.db_table}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {LEDGER}_keep()")
        cursor.execute(f"DROP TABLE IF EXISTS {LEDGER}")


def committed_events() -> dict[str, str]:
    """event_id -> type of every event committed since the ledger was installed."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id::text, type FROM {LEDGER}")
        return dict(cursor.fetchall())


def committed_envelopes() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT envelope::text FROM {LEDGER}")
        return [json.loads(envelope) for (envelope,) in cursor.fetchall()]


def unaudited() -> int:
    """Committed events with no audit entry yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {LEDGER} l WHERE NOT EXISTS "
            f"(SELECT 1 FROM {AuditEntry._meta.db_table} a WHERE a.event_id = l.event_id)"
        )
        return cursor.fetchone()[0]


def committed_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {LEDGER}")
        return cursor.fetchone()[0]
