"""The events a benchmark feeds the pipeline, and a backlog written straight into the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta


def sample_event():
    """A sign-in of an unknown user: every consumer takes it, none sends a mail, and a webhook only
    where a subscription selects it (the integration drain has one)."""
    from identity.events import UserLoggedIn

    return UserLoggedIn(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        mfa_used=True,
        door="api",
        method="password",
        device_id=uuid.uuid4(),
    )


def sample_envelopes(count: int) -> list[dict]:
    from identity_project.eventbus.context import SYSTEM
    from identity_project.eventbus.envelope import build

    now = datetime.now(UTC)
    envelopes = []
    for _ in range(count):
        event = sample_event()
        envelopes.append(
            build(event, event_id=uuid.uuid4(), aggregate_id=str(event.user_id), sequence=1, actor=SYSTEM,
                  correlation_id=uuid.uuid4().hex, causation_id=None, occurred_at=now)
        )  # fmt: skip
    return envelopes


OUTBOX_COLUMNS = (
    "event_id, type, version, aggregate_type, aggregate_id, sequence, correlation_id, envelope, "
    "created_at, attempts, last_error"
)


def fill_outbox(envelopes: list[dict]) -> None:
    """Commit a backlog straight into the outbox (COPY): what a stopped relay leaves behind, written
    at tens of thousands of rows a second, so that filling never bounds what is measured."""
    from django.db import connection, transaction

    from identity_project.eventbus.models import OutboxEvent

    created = datetime.now(UTC) - timedelta(seconds=5)
    with transaction.atomic(), connection.cursor() as cursor:
        statement = f"COPY {OutboxEvent._meta.db_table} ({OUTBOX_COLUMNS}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for e in envelopes:
                copy.write_row(outbox_row(e, created))


def outbox_row(e: dict, created: datetime) -> tuple:
    """An envelope's outbox row, in OUTBOX_COLUMNS' order."""
    return (e["event_id"], e["type"], e["version"], e["aggregate_type"], e["aggregate_id"],
            e["sequence"], e["correlation_id"], json.dumps(e), created, 0, "")  # fmt: skip
