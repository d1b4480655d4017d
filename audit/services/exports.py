"""Exports of the audit log: written once to a file in constant memory, recorded, and audited;
in the request when small, by a task when large."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog
from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from audit import chain
from audit.models import AuditEntry, AuditExport
from audit.selectors import entries_search
from identity.events import AuditLogCreated
from identity_project.eventbus import routing
from identity_project.eventbus.context import Actor, current_actor
from identity_project.eventbus.publisher import enqueue, publish

# The columns of an export, in order; `data` is JSON (an object in JSONL, a string in CSV).
EXPORT_FIELDS = (
    "id",
    "event_id",
    "type",
    "version",
    "source",
    "occurred_at",
    "received_at",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "actor_type",
    "actor_id",
    "correlation_id",
    "causation_id",
    "user_id",
    "severity",
    "category",
    "data",
    "prev_hash",
    "hash",
)
CHUNK_SIZE = 2000

log = structlog.get_logger(__name__)


_TIMESTAMPS = ("occurred_at", "received_at")
_UUIDS = ("event_id", "causation_id")

# On PostgreSQL the database writes each JSONL line itself: a few Python objects per row instead
# of one per column, which keeps a million-row export fast. Same fields, same values, same
# timestamp format; only the whitespace between them differs from the portable path.
_POSTGRES_TIMESTAMP = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_POSTGRES_LINE = (
    "json_build_object("
    + ", ".join(
        f"'{name}', {_POSTGRES_TIMESTAMP.format(name) if name in _TIMESTAMPS else name}"
        for name in EXPORT_FIELDS
    )
    + ")::text"
)


def entry_records(entries: QuerySet[AuditEntry]) -> Iterator[dict[str, Any]]:
    """Entries as JSON-ready dicts, read from a server-side cursor CHUNK_SIZE rows at a time."""
    for row in entries.values_list(*EXPORT_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        record = dict(zip(EXPORT_FIELDS, row, strict=True))
        for name in _TIMESTAMPS:
            record[name] = chain.timestamp(record[name])
        for name in _UUIDS:
            if record[name] is not None:
                record[name] = str(record[name])
        yield record


def _jsonl_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    if connection.vendor == "postgresql":
        # A constant made of the field names above: no input reaches this SQL.
        line = RawSQL(_POSTGRES_LINE, [])  # noqa: S611 # nosec B611
        lines = entries.annotate(line=line).values_list("line", flat=True)
        for line in lines.iterator(chunk_size=CHUNK_SIZE):
            yield line + "\n"
        return
    for record in entry_records(entries):
        yield json.dumps(record, separators=(",", ":")) + "\n"


def _csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = (
        [
            json.dumps(record[name], separators=(",", ":")) if name == "data" else record[name]
            for name in EXPORT_FIELDS
        ]
        for record in entry_records(entries)
    )
    for row in itertools.chain([EXPORT_FIELDS], rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _write(path: Path, lines: Iterator[str]) -> tuple[int, str, int]:
    """Write the lines to `path`; returns (lines written, sha256 of the file, its size)."""
    digest = hashlib.sha256()
    count = size = 0
    with path.open("wb") as file:
        for line in lines:
            data = line.encode()
            digest.update(data)
            file.write(data)
            size += len(data)
            count += 1
    return count, digest.hexdigest(), size


def _requester(requested_by: uuid.UUID) -> Actor:
    actor = current_actor()
    return actor if actor.id == str(requested_by) else Actor("user", str(requested_by))


def _entries(filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    searched = {
        name: dt.datetime.fromisoformat(value) if name in ("since", "until") else value
        for name, value in filters.items()
    }
    return entries_search(**searched).order_by("id")


def _write_file(export: AuditExport) -> None:
    """Write the export's entries to its file and record the count, sha256 and size on it, and
    publish AuditLogCreated, in the caller's transaction. The file is removed if anything fails."""
    folder = Path(settings.AUDIT["EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{export.id}.{export.format}"
    entries = _entries(export.filters)
    if export.upto_id is not None:
        entries = entries.filter(id__lte=export.upto_id)
    try:
        if export.format == AuditExport.Format.CSV:
            lines, export.sha256, export.size = _write(path, _csv_lines(entries))
            export.row_count = lines - 1  # the header
        else:
            export.row_count, export.sha256, export.size = _write(path, _jsonl_lines(entries))
        export.path, export.status, export.finished_at = str(path), AuditExport.Status.READY, timezone.now()
        export.save()
        publish(
            AuditLogCreated(
                export_id=export.id,
                requested_by=export.requested_by,
                filters=export.filters,
                row_count=export.row_count,
                sha256=export.sha256,
            ),
            actor=_requester(export.requested_by),
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@transaction.atomic
def export_create(*, requested_by: uuid.UUID, format: str, filters: dict[str, Any]) -> AuditExport:
    """Write the entries matching `filters` (those of entries_search, JSON values), oldest first,
    record the export and publish AuditLogCreated, in one transaction."""
    export = AuditExport(requested_by=requested_by, format=format, filters=filters)
    _write_file(export)
    return export


def export_start(*, requested_by: uuid.UUID, format: str, filters: dict[str, Any]) -> AuditExport:
    """An export asked for through the API. Up to AUDIT_EXPORT_INLINE_ROWS entries it is written
    at once (ready); a larger one would hold the request, its worker and a transaction for as long
    as the file takes: it is recorded as pending and written by a task (`audit.write_export`, on
    the identity queue where audit's other long task, retention, runs, never in the audit
    consumer's pool). The count stops at the limit: deciding never reads a whole large result."""
    limit = settings.AUDIT["EXPORT_INLINE_ROWS"]
    if _entries(filters)[: limit + 1].count() <= limit:
        return export_create(requested_by=requested_by, format=format, filters=filters)
    with transaction.atomic():
        export = AuditExport.objects.create(
            requested_by=requested_by,
            format=format,
            filters=filters,
            status=AuditExport.Status.PENDING,
            upto_id=AuditEntry.objects.order_by("-id").values_list("id", flat=True).first(),
        )
        enqueue(write_export, str(export.id), queue=routing.IDENTITY)
    return export


def export_write(*, export_id) -> AuditExport | None:
    """The task's work: write a pending export. A delivery that finds it written (or being
    written by another worker: its row is locked) does nothing; a worker killed mid-way rolls
    back, and the message, acknowledged late, is delivered again. A failure is recorded on the
    export, by its class only (an error's text could quote entry data), and logged."""
    try:
        with transaction.atomic():
            export = (
                AuditExport.objects.select_for_update(skip_locked=True)
                .filter(pk=export_id, status=AuditExport.Status.PENDING)
                .first()
            )
            if export is not None:
                _write_file(export)
            return export
    except Exception as exc:
        log.exception("audit.export_failed", export_id=str(export_id))
        AuditExport.objects.filter(pk=export_id, status=AuditExport.Status.PENDING).update(
            status=AuditExport.Status.FAILED, finished_at=timezone.now(), error=type(exc).__name__
        )
        return None


@shared_task(name="audit.write_export", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def write_export(export_id: str) -> None:
    """A large export, started by export_start."""
    export_write(export_id=export_id)
