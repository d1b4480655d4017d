"""Exports of the audit log: written once to a file in constant memory, recorded, and audited."""

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

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from audit import chain
from audit.models import AuditEntry, AuditExport
from audit.selectors import entries_search
from identity.events import AuditLogCreated
from identity_project.eventbus.context import Actor, current_actor
from identity_project.eventbus.publisher import publish

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


def export_create(*, requested_by: uuid.UUID, format: str, filters: dict[str, Any]) -> AuditExport:
    """Write the entries matching `filters` (those of entries_search, JSON values), oldest first,
    record the export and publish AuditLogCreated, in one transaction."""
    folder = Path(settings.AUDIT["EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    export_id = uuid.uuid4()
    path = folder / f"{export_id}.{format}"
    searched = {
        name: dt.datetime.fromisoformat(value) if name in ("since", "until") else value
        for name, value in filters.items()
    }
    entries = entries_search(**searched).order_by("id")
    try:
        with transaction.atomic():
            if format == AuditExport.Format.CSV:
                lines, sha256, size = _write(path, _csv_lines(entries))
                row_count = lines - 1  # the header
            else:
                row_count, sha256, size = _write(path, _jsonl_lines(entries))
            export = AuditExport.objects.create(
                id=export_id,
                requested_by=requested_by,
                format=format,
                filters=filters,
                row_count=row_count,
                sha256=sha256,
                size=size,
                path=str(path),
            )
            publish(
                AuditLogCreated(
                    export_id=export_id,
                    requested_by=requested_by,
                    filters=filters,
                    row_count=row_count,
                    sha256=sha256,
                ),
                actor=_requester(requested_by),
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return export
