"""Trimming the event bus's own history in small batches (never one long table lock).

Idempotency keys are kept much longer than any redelivery or replay could come (a key removed
too early lets a late duplicate apply twice). The outbox needs no trimming (the relay deletes what
it sent) and dead letters are never trimmed here.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from identity_project.eventbus.models import DeliveryFailure, ProcessedEvent

BATCH = 5000


def _delete_in_batches(queryset: models.QuerySet) -> int:
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def purge_history(now=None) -> dict[str, int]:
    now = now or timezone.now()
    days = settings.EVENTBUS
    return {
        "processed": _delete_in_batches(
            ProcessedEvent.objects.filter(
                processed_at__lt=now - timedelta(days=days["PROCESSED_RETENTION_DAYS"])
            )
        ),
        "failures": _delete_in_batches(
            DeliveryFailure.objects.filter(
                created_at__lt=now - timedelta(days=days["PROCESSED_RETENTION_DAYS"])
            )
        ),
    }
