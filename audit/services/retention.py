"""Retention: archive each category's expired entries, remove them in small batches, checkpoint."""

# What expires is a prefix of a category's chain: its entries, by id, up to the first one recorded
# (received_at) less than the category's retention ago. Each removal batch moves the category's
# signed checkpoint in the same transaction, so the chain verifies at every moment. A prefix whose
# chain does not verify is neither archived nor removed: deleting it would destroy the evidence.
# Removal bypasses the append-only trigger with `SET LOCAL audit.retention = 'on'`, set only here,
# inside the deleting transaction: a guard against mistakes; the chain and checkpoints are the proof.

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.models import AuditCheckpoint, AuditEntry, AuditRetentionRun
from audit.selectors import Verification, chain_head_before
from audit.services.exports import entry_records
from identity_project.eventbus.retention import sweep_run


class RetentionRefused(Exception):
    """The expired part of a chain does not verify: it is kept for investigation."""


def _expired_last_id(category: str, cutoff) -> int | None:
    entries = AuditEntry.objects.filter(category=category)
    boundary = entries.filter(received_at__gte=cutoff).order_by("id").values_list("id", flat=True).first()
    if boundary is not None:
        entries = entries.filter(id__lt=boundary)
    return entries.order_by("-id").values_list("id", flat=True).first()


def _archive(category: str, last_id: int, path: Path) -> tuple[int, int, str]:
    """Write the category's entries up to last_id to `path`, checking every link on the way;
    returns (first id, count, sha256 of the file)."""
    entries = AuditEntry.objects.filter(category=category, id__lte=last_id).order_by("id")
    first_id = entries.values_list("id", flat=True).first()
    checked = Verification()
    expected = chain_head_before(category, first_id, checked)
    if not checked.ok:
        raise RetentionRefused(f"{category}: {'; '.join(checked.problems)}")
    count = 0
    try:
        with transaction.atomic(), gzip.open(path, "wt", encoding="utf-8") as archive:
            for record in entry_records(entries):
                if record["prev_hash"] != expected or chain.entry_hash(expected, record) != record["hash"]:
                    raise RetentionRefused(f"{category}: entry {record['id']} does not verify")
                archive.write(json.dumps(record, separators=(",", ":")) + "\n")
                expected = record["hash"]
                count += 1
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return first_id, count, digest.hexdigest()


def _remove_batch(checkpoint: AuditCheckpoint, upto: int) -> int:
    """Remove the next batch of the archived range and move the checkpoint past it, atomically."""
    with transaction.atomic():
        chain.lock_chain()
        rows = list(
            AuditEntry.objects.filter(category=checkpoint.category, id__lte=upto)
            .order_by("id")
            .values_list("id", "prev_hash", "hash")[: settings.AUDIT["RETENTION_BATCH"]]
        )
        if not rows:
            return 0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL audit.retention = 'on'")
            # The table is the model's and the ids are parameters: nothing from outside is in the SQL.
            cursor.execute(
                f"DELETE FROM {AuditEntry._meta.db_table} WHERE id IN ({', '.join(['%s'] * len(rows))})",  # nosec B608
                [row[0] for row in rows],
            )
        if checkpoint.pk is None:
            checkpoint.first_id, checkpoint.first_prev_hash = rows[0][0], rows[0][1]
        checkpoint.last_id = rows[-1][0]
        checkpoint.count += len(rows)
        checkpoint.last_hash = rows[-1][2]
        checkpoint.signature = chain.sign(checkpoint.signed_fields())
        checkpoint.save()
    return len(rows)


def _expire(run: AuditRetentionRun, *, category: str, days: int, now) -> dict[str, Any]:
    last_id = _expired_last_id(category, now - timedelta(days=days))
    if last_id is None:
        return {"archived": 0, "removed": 0}
    folder = Path(settings.AUDIT["ARCHIVE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{category}-{now:%Y%m%dT%H%M%S}-{last_id}.jsonl.gz"
    first_id, archived, sha256 = _archive(category, last_id, path)
    checkpoint = AuditCheckpoint(
        run=run, category=category, count=0, archive_path=str(path), archive_sha256=sha256
    )
    removed = 0
    while batch := _remove_batch(checkpoint, last_id):
        removed += batch
    return {
        "archived": archived,
        "removed": removed,
        "first_id": first_id,
        "last_id": last_id,
        "archive": str(path),
    }


def retention_apply(*, now=None) -> AuditRetentionRun:
    """Expire every category of settings.AUDIT["RETENTION_DAYS"]; the run records the outcome
    (a failure is kept on the run, for the admin; the next run starts over where it stopped)."""
    now = now or timezone.now()
    steps = {
        category: functools.partial(_expire, category=category, days=days, now=now)
        for category, days in settings.AUDIT["RETENTION_DAYS"].items()
    }
    return sweep_run(AuditRetentionRun, steps, now=now)


@shared_task(name="audit.apply_retention", ignore_result=True)
def apply_retention() -> int:
    return retention_apply().pk
