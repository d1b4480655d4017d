"""Fixtures of the audit tests: envelopes of catalog events, stored entries, API clients."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from audit.services.ingestion import entries_append
from identity import events
from identity.models import User
from identity_project.eventbus.catalog import Event
from identity_project.eventbus.context import SYSTEM, Actor
from identity_project.eventbus.envelope import build
from tests.factories import UserFactory


def envelope(event: Event, *, correlation_id: str | None = None, actor: Actor = SYSTEM) -> dict:
    event_id = uuid.uuid4()
    return build(
        event,
        event_id=event_id,
        aggregate_id=event.aggregate_id() or str(event_id),
        sequence=1,
        actor=actor,
        correlation_id=correlation_id or uuid.uuid4().hex,
        causation_id=None,
        occurred_at=timezone.now(),
    )


def logged_in(user_id: uuid.UUID | None = None, **context) -> dict:
    return envelope(
        events.UserLoggedIn(
            user_id=user_id or uuid.uuid4(),
            session_id=uuid.uuid4(),
            ip_address="203.0.113.7",
            user_agent="pytest",
            mfa_used=False,
            door="api",
            method="password",
        ),
        **context,
    )


def token_issued(user_id: uuid.UUID | None = None, **context) -> dict:
    return envelope(
        events.TokenIssued(
            session_id=uuid.uuid4(),
            user_id=user_id or uuid.uuid4(),
            jti=uuid.uuid4().hex,
            token_type="access",
            family_id=uuid.uuid4(),
            expires_at=timezone.now() + dt.timedelta(minutes=5),
        ),
        **context,
    )


def user_locked(user_id: uuid.UUID | None = None, **context) -> dict:
    return envelope(events.UserLocked(user_id=user_id or uuid.uuid4(), reason="too_many_failures"), **context)


def mixed_batch(size: int) -> list[dict]:
    """Entries of three categories (authentication, token, security), interleaved."""
    makers = (logged_in, token_issued, user_locked)
    return [makers[i % 3]() for i in range(size)]


def tamper(sql: str, params: list) -> None:
    """Change rows behind the ORM's back, as a DBA could: replica mode skips the trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@pytest.fixture
def stored() -> list[dict]:
    batch = mixed_batch(30)
    entries_append(envelopes=batch)
    return batch


@pytest.fixture
def auditor() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("auditor@example.com", "an-auditor-password"))
    return client


@pytest.fixture
def nobody() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(email="nobody@example.com"))
    return client


@pytest.fixture
def audit_dirs(settings, tmp_path: Path) -> Path:
    settings.AUDIT = {
        **settings.AUDIT,
        "ARCHIVE_DIR": tmp_path / "archive",
        "EXPORT_DIR": tmp_path / "exports",
    }
    return tmp_path
