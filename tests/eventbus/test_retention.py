"""The event bus trims its own history, and never what is still pending."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from identity import events
from identity_project.eventbus.models import OutboxEvent, ProcessedEvent
from identity_project.eventbus.publisher import publish
from identity_project.eventbus.retention import purge_history

pytestmark = pytest.mark.django_db


def test_old_idempotency_keys_go_pending_outbox_rows_stay_however_old():
    publish(events.UserUpdated(user_id=uuid.uuid4(), changed_fields=["email"]))
    now = timezone.now()
    OutboxEvent.objects.update(created_at=now - timedelta(days=30))
    ProcessedEvent.objects.create(
        consumer="audit", event_id=uuid.uuid4(), processed_at=now - timedelta(days=91)
    )
    kept = ProcessedEvent.objects.create(consumer="audit", event_id=uuid.uuid4(), processed_at=now)

    removed = purge_history()

    assert removed == {"processed": 1, "failures": 0}
    assert OutboxEvent.objects.count() == 1
    assert list(ProcessedEvent.objects.all()) == [kept]
