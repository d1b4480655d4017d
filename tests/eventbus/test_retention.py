"""The event bus trims its own history, and never what is still pending."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from identity import events
from identity.models import RetentionRun
from identity_project.eventbus.models import OutboxEvent, ProcessedEvent
from identity_project.eventbus.publisher import publish
from identity_project.eventbus.retention import Purged, purge, purge_history, sweep_run

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


def test_a_sweep_run_records_each_table_and_a_failing_step_ends_it_as_failed():
    # given two old idempotency keys, and a step after them that fails
    now = timezone.now()
    ProcessedEvent.objects.bulk_create(
        ProcessedEvent(consumer="audit", event_id=uuid.uuid4(), processed_at=now - timedelta(days=91))
        for _ in range(3)
    )

    def broken(run) -> Purged:
        raise RuntimeError("the table is gone")

    steps = {
        "processed": purge(ProcessedEvent.objects.order_by("processed_at"), batch=2),
        "broken": broken,
    }

    # when the sweep runs
    run = sweep_run(RetentionRun, steps, now=now)

    # then what the first step removed is recorded and stays removed; the run failed, with why
    run.refresh_from_db()
    assert run.status == RetentionRun.Status.FAILED
    assert run.outcome == {"processed": {"removed": 3, "batches": 2}}
    assert "the table is gone" in run.error
    assert run.finished_at is not None
    assert not ProcessedEvent.objects.exists()
