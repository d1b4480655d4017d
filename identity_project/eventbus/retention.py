"""Trimming history in small batches (never one long table lock), and the record of a sweep.

`delete_in_batches` is the one way the platform removes old rows: every app's retention sweep
(identity's, notification's, this layer's own) goes through it, so none of them holds a table or
a long transaction. `sweep_run` runs an app's steps and records the run on that app's concrete
`SweepRun` table, which its admin lists (the last run first); audit's retention, which archives
and checkpoints before it removes, records its runs the same way.

Idempotency keys are kept much longer than any redelivery or replay could come (a key removed
too early lets a late duplicate apply twice). The outbox needs no trimming (the relay deletes what
it sent) and dead letters are never trimmed here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NamedTuple

import structlog
from django.conf import settings
from django.db import models
from django.utils import timezone

from identity_project.eventbus.models import DeliveryFailure, ProcessedEvent, SweepRun

BATCH = 5000

log = structlog.get_logger(__name__)


class Purged(NamedTuple):
    removed: int
    batches: int


def delete_in_batches(queryset: models.QuerySet, *, batch: int = BATCH) -> Purged:
    """Delete what `queryset` selects, `batch` rows per statement (each commits on its own: a
    sweep that stops half-way has removed whole batches and starts over next time). The queryset
    is evaluated again for each batch, so a row that stopped matching meanwhile is left alone.
    Cascades (Django's collector) follow each batch's rows only."""
    removed = batches = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return Purged(removed, batches)
        removed += queryset.model.objects.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)
        batches += 1


Step = Callable[[SweepRun], "Purged | dict[str, Any]"]


def purge(queryset: models.QuerySet, *, batch: int = BATCH) -> Step:
    """A sweep step that deletes what `queryset` selects, in batches."""
    return lambda run: delete_in_batches(queryset, batch=batch)


def sweep_run(record: type[SweepRun], steps: dict[str, Step], *, now) -> SweepRun:
    """Run each step (a table's purge, or any step given the run) and record what it did on a
    new row of `record`; a failing step ends the run as failed, the error kept for the admin,
    and the next run starts over (what was removed stays removed)."""
    run = record.objects.create(started_at=now)
    try:
        for name, step in steps.items():
            done = step(run)
            run.outcome[name] = done._asdict() if isinstance(done, Purged) else done
            run.save(update_fields=["outcome"])
    except Exception as exc:
        log.exception("retention.failed", table=record._meta.label, run_id=run.pk)
        run.status, run.error = SweepRun.Status.FAILED, repr(exc)
    else:
        run.status = SweepRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    log.info(
        "retention.done", table=record._meta.label, run_id=run.pk, status=run.status, outcome=run.outcome
    )
    return run


def purge_history(now=None) -> dict[str, int]:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EVENTBUS["PROCESSED_RETENTION_DAYS"])
    return {
        "processed": delete_in_batches(ProcessedEvent.objects.filter(processed_at__lt=cutoff)).removed,
        "failures": delete_in_batches(DeliveryFailure.objects.filter(created_at__lt=cutoff)).removed,
    }
