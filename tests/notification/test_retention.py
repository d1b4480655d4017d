"""Notification's retention: old in-app notices, marks and gates go in batches; what still
decides stays; the admin shows the run; each batch reads an index."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from identity.models import User
from identity_project.celery import app
from notification import retention
from notification.models import DedupeMark, Gate, Notification, NotificationRule, RetentionRun
from notification.services import _gate
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def small_batches(settings):
    settings.NOTIFICATION = {**settings.NOTIFICATION, "RETENTION_BATCH": 2}


def _notifications(count: int, created_at) -> list[Notification]:
    return Notification.objects.bulk_create(
        Notification(
            user_id=uuid.uuid4(), event_id=uuid.uuid4(), event_type="identity.user.logged_in",
            category="security", title="t", body="b", created_at=created_at,
            read_at=created_at if i % 2 else None,
        )
        for i in range(count)
    )  # fmt: skip


def _marks(count: int, created_at) -> list[DedupeMark]:
    rule = NotificationRule.objects.first()
    return DedupeMark.objects.bulk_create(
        DedupeMark(rule=rule, recipient_id=uuid.uuid4(), value=f"device-{i}", created_at=created_at)
        for i in range(count)
    )


def test_old_notifications_and_marks_go_in_batches_and_recent_ones_stay(small_batches):
    now = timezone.now()
    _notifications(5, now - 91 * DAY)
    recent = _notifications(2, now - 89 * DAY)
    _marks(3, now - 366 * DAY)
    kept_mark = _marks(1, now - 300 * DAY)

    run = retention.retention_apply(now=now)

    assert run.status == RetentionRun.Status.SUCCEEDED, run.error
    assert run.outcome["notifications"] == {"removed": 5, "batches": 3}
    assert run.outcome["dedupe_marks"] == {"removed": 3, "batches": 2}
    assert set(Notification.objects.values_list("pk", flat=True)) == {n.pk for n in recent}
    assert list(DedupeMark.objects.values_list("pk", flat=True)) == [kept_mark[0].pk]


def test_gates_without_an_alert_go_and_an_alert_stays_as_long_as_a_threshold_window_reads_it(small_batches):
    now = timezone.now()
    NotificationRule.objects.filter(pk=NotificationRule.objects.first().pk).update(
        threshold_count=3, threshold_window_seconds=30 * 24 * 3600
    )
    Gate.objects.bulk_create(Gate(key=f"rate:{i}:security") for i in range(3))
    Gate.objects.create(key="threshold:old", last_alert_at=now - 31 * DAY)
    in_window = Gate.objects.create(key="threshold:kept", last_alert_at=now - 20 * DAY)

    run = retention.retention_apply(now=now)

    # a week's retention, but the 30-day window still compares new events with the 20-day-old alert
    assert run.outcome["gates"] == {"removed": 4, "batches": 2}
    assert list(Gate.objects.values_list("key", flat=True)) == [in_window.key]


def test_a_gate_removed_by_retention_is_made_again_when_next_needed(transactional_db):
    # given a gate its decisions locked before, then removed by retention
    Gate.objects.create(key="rate:someone:security")
    retention.retention_apply()
    assert not Gate.objects.exists()

    # when a decision needs it again, it is made and locked at once
    with transaction.atomic():
        gate = _gate("rate:someone:security")

    assert Gate.objects.get().pk == gate.pk


def test_the_admin_shows_the_last_run(client, small_batches):
    _notifications(3, timezone.now() - 91 * DAY)
    retention.retention_apply()
    admin = User.objects.create_superuser("root@example.com", "an-admin-password")
    admin_sign_in(client, admin, "an-admin-password")

    page = client.get(reverse("admin:notification_retentionrun_changelist"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Succeeded" in text
    assert "dedupe_marks" in text
    assert "&quot;removed&quot;: 3" in text


def test_the_daily_task_is_scheduled_on_the_notification_queue(settings):
    app.loader.import_default_modules()

    schedule = settings.CELERY_BEAT_SCHEDULE["notification-apply-retention"]

    assert schedule["task"] in app.tasks
    assert schedule["options"] == {"queue": "notification"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")
def test_each_retention_query_reads_its_index():
    now = timezone.now()
    _notifications(20000, now - 91 * DAY)
    Notification.objects.filter(pk__in=Notification.objects.values("pk")[:19800]).update(created_at=now)
    rule = NotificationRule.objects.first()
    DedupeMark.objects.bulk_create(
        DedupeMark(rule=rule, recipient_id=uuid.uuid4(), value=str(i), created_at=now - (i % 400) * DAY)
        for i in range(20000)
    )
    Gate.objects.bulk_create(
        Gate(key=f"threshold:{i}", last_alert_at=now - (i % 60) * dt.timedelta(minutes=1))
        for i in range(20000)
    )
    with connection.cursor() as cursor:
        for model in (Notification, DedupeMark, Gate):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    expected = {
        "notifications": "notification_created_idx",
        "dedupe_marks": "notification_dedupe_age_idx",
        "gates": "notification_gate_alert_idx",
    }

    plans = {
        name: qs.values_list("pk", flat=True)[:1000].explain() for name, qs in retention.expired(now).items()
    }

    for name, index in expected.items():
        assert index in plans[name], plans[name]
        assert "Seq Scan" not in plans[name], plans[name]
