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


def test_old_dispatched_rows_and_old_idempotency_keys_go_pending_rows_stay():
    for _ in range(3):
        publish(events.UserUpdated(user_id=uuid.uuid4(), changed_fields=["email"]))
    old, recent, pending = OutboxEvent.objects.order_by("id")
    now = timezone.now()
    OutboxEvent.objects.filter(pk=old.pk).update(dispatched_at=now - timedelta(days=8))
    OutboxEvent.objects.filter(pk=recent.pk).update(dispatched_at=now - timedelta(days=1))
    OutboxEvent.objects.filter(pk=pending.pk).update(created_at=now - timedelta(days=30))
    ProcessedEvent.objects.create(
        consumer="audit", event_id=uuid.uuid4(), processed_at=now - timedelta(days=91)
    )
    kept = ProcessedEvent.objects.create(consumer="audit", event_id=uuid.uuid4(), processed_at=now)

    removed = purge_history()

    assert removed == {"outbox": 1, "processed": 1, "failures": 0}
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    assert list(ProcessedEvent.objects.all()) == [kept]
