"""Fixtures of the notification tests: a real SMTP server on loopback and a worker sending to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction

from identity.models import User
from identity_project.eventbus.publisher import publish
from notification import default_rules
from notification.models import NotificationRule
from tests.conftest import purge_queues
from tests.factories import UserFactory
from tests.support.processes import Process, service_env, start_worker
from tests.support.smtp import SmtpServer

NOTIFICATION_QUEUES = "notification,notification.urgent"


@pytest.fixture(autouse=True)
def notification_rules(db) -> None:
    """The rules of the data migration; a transactional test elsewhere flushes them away."""
    default_rules.install(NotificationRule)


def notification_env(smtp: SmtpServer, **overrides: str) -> dict[str, str]:
    return service_env(
        EMAIL_URL=smtp.url,
        NOTIFICATION_SEND_BACKOFF_FACTOR="0.5",
        NOTIFICATION_SEND_MAX_ATTEMPTS="3",
        **overrides,
    )


@pytest.fixture
def notification_worker(transactional_db, log_dir: Path, smtp_server: SmtpServer) -> Iterator[Process]:
    """A real worker on both notification lanes, mailing to the loopback SMTP server."""
    purge_queues()
    process = start_worker(log_dir, queues=NOTIFICATION_QUEUES, env=notification_env(smtp_server))
    yield process
    process.stop()
    purge_queues()


def make_user(name: str) -> User:
    with transaction.atomic():
        return UserFactory(email=f"{name}-{uuid.uuid4().hex[:8]}@example.com", full_name=name.title())


def publish_now(*events) -> list[dict]:
    with transaction.atomic():
        return [publish(event) for event in events]
