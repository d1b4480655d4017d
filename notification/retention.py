"""Notification's retention: the daily sweep that bounds its in-app notices and bookkeeping rows.

In small batches (eventbus.retention.delete_in_batches), recorded as a RetentionRun the admin lists.
E-mail deliveries are not swept here: their lifecycle belongs to the outbound mechanism.

- **In-app notifications** older than NOTIFICATION_IN_APP_RETENTION_DAYS, read or not: the
  feed shows that far back; the audit trail keeps what happened.
- **Dedupe marks** older than NOTIFICATION_DEDUPE_RETENTION_DAYS: a mark removed lets the same
  thing (a device) notify its recipient once more, which is why the default is long.
- **Gates** without an alert carry nothing (the row only serialises decisions, and is made again
  when next needed); one with an alert is kept NOTIFICATION_GATE_RETENTION_DAYS after it, and
  never less than the longest threshold window, which compares new events with that alert.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from identity_project.celery import app
from identity_project.eventbus.retention import purge, sweep_run
from notification.models import DedupeMark, Gate, Notification, NotificationRule, RetentionRun


def _days(table: str) -> dt.timedelta:
    return dt.timedelta(days=settings.NOTIFICATION["RETENTION_DAYS"][table])


def expired(now) -> dict[str, QuerySet]:
    """What each table may lose now, each read oldest first along an index of its own, so a batch
    reads its rows and stops, however large the table."""
    longest = max(NotificationRule.objects.values_list("threshold_window_seconds", flat=True), default=0)
    gate_keep = max(_days("gates"), dt.timedelta(seconds=longest))
    return {
        "notifications": Notification.objects.filter(created_at__lt=now - _days("notifications")).order_by(
            "created_at"
        ),
        "dedupe_marks": DedupeMark.objects.filter(created_at__lt=now - _days("dedupe_marks")).order_by(
            "created_at"
        ),
        "gates": Gate.objects.filter(Q(last_alert_at__isnull=True) | Q(last_alert_at__lt=now - gate_keep)),
    }


def retention_apply(*, now=None) -> RetentionRun:
    """Apply every table's retention once, in batches of NOTIFICATION_RETENTION_BATCH."""
    now = now or timezone.now()
    batch = settings.NOTIFICATION["RETENTION_BATCH"]
    steps = {name: purge(queryset, batch=batch) for name, queryset in expired(now).items()}
    return sweep_run(RetentionRun, steps, now=now)


@app.task(name="notification.apply_retention", acks_late=True, ignore_result=True)
def apply_retention() -> int:
    return retention_apply().pk
