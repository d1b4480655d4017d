"""The audit app's reads: search, chain verification, exports, the security view, and the sent
events of a story (manage.py trace)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from audit import chain
from audit.models import AuditChainHead, AuditCheckpoint, AuditEntry, AuditExport
from audit.taxonomy import CATEGORIES, INCIDENT_TYPES
from operations.pipeline import StoryEvent

VERIFY_CHUNK = 2000


def entries_search(
    *,
    type: str | None = None,
    user_id: str | None = None,
    aggregate_id: str | None = None,
    correlation_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    severity: str | None = None,
) -> QuerySet[AuditEntry]:
    """Entries matching every given filter, newest first (by id: the order they were recorded)."""
    entries = AuditEntry.objects.all()
    exact = {
        "type": type,
        "user_id": user_id,
        "aggregate_id": aggregate_id,
        "correlation_id": correlation_id,
        "severity": severity,
    }
    entries = entries.filter(**{name: value for name, value in exact.items() if value})
    if since:
        entries = entries.filter(occurred_at__gte=since)
    if until:
        entries = entries.filter(occurred_at__lt=until)
    return entries.order_by("-id")


# --- verification ---------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool = True
    checked: int = 0
    first_bad_id: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, entry_id: int | None, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)
        if entry_id is not None and (self.first_bad_id is None or entry_id < self.first_bad_id):
            self.first_bad_id = entry_id


def _checkpoints(category: str, result: Verification) -> tuple[str, int | None, int]:
    """What retention removed from `category`: the hash the first remaining entry must link to,
    the last id removed and how many, once the checkpoints' signatures and links check out."""
    last_hash, last_id, removed = chain.GENESIS, None, 0
    for checkpoint in AuditCheckpoint.objects.filter(category=category).order_by("first_id"):
        if not chain.signature_valid(checkpoint.signed_fields(), checkpoint.signature):
            result.fail(None, f"checkpoint {checkpoint.pk} ({category}) has a bad signature")
        elif checkpoint.first_prev_hash != last_hash:
            result.fail(None, f"checkpoint {checkpoint.pk} ({category}) does not follow the one before")
        last_hash, last_id, removed = checkpoint.last_hash, checkpoint.last_id, removed + checkpoint.count
    return last_hash, last_id, removed


def chain_head_before(category: str, first_id: int, result: Verification) -> str:
    """The hash the entry `first_id` of `category` must link to."""
    before = (
        AuditEntry.objects.filter(category=category, id__lt=first_id)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
    )
    return before if before is not None else _checkpoints(category, result)[0]


def chain_verify(*, first_id: int | None = None, last_id: int | None = None) -> Verification:
    """Walk each category's chain (or the part of it between the two ids) and recompute every link.

    A changed entry fails its own hash; a removed one fails the link of the entry after it. Within
    a range, the first entry is checked against the one before the range."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for every query: a retention batch committing mid-walk would otherwise
            # move a checkpoint between reading it and reading the entries after it.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _walk(first_id, last_id)


def _walk(first_id: int | None, last_id: int | None) -> Verification:
    result = Verification()
    heads = {head.category: head for head in AuditChainHead.objects.all()}
    for category in sorted(set(CATEGORIES) | set(heads)):
        _walk_category(category, heads.get(category), first_id, last_id, result)
    return result


def _walk_category(
    category: str,
    head: AuditChainHead | None,
    first_id: int | None,
    last_id: int | None,
    result: Verification,
) -> None:
    entries = AuditEntry.objects.filter(category=category)
    if first_id is not None:
        entries = entries.filter(id__gte=first_id)
    if last_id is not None:
        entries = entries.filter(id__lte=last_id)
    whole = first_id is None and last_id is None
    start = entries.order_by("id").values_list("id", flat=True).first()
    if start is None:
        if whole:  # nothing left, or everything removed: the checkpoints must reach the head
            expected, last_seen, removed = _checkpoints(category, result)
            _check_end(category, head, last_seen, expected, removed, result)
        return
    expected = chain_head_before(category, start, result)
    last_seen, walked = None, 0
    rows = entries.order_by("id").values_list("id", "prev_hash", "hash", *chain.HASHED_FIELDS)
    for entry_id, prev_hash, stored_hash, *values in rows.iterator(chunk_size=VERIFY_CHUNK):
        result.checked += 1
        walked += 1
        if prev_hash != expected:
            result.fail(entry_id, f"entry {entry_id} ({category}) does not link to the entry before it")
            return
        if chain.entry_hash(prev_hash, dict(zip(chain.HASHED_FIELDS, values, strict=True))) != stored_hash:
            result.fail(entry_id, f"entry {entry_id} ({category}) does not match its hash")
            return
        expected, last_seen = stored_hash, entry_id
    if last_id is None:
        removed = _checkpoints(category, result)[2] if whole else None
        _check_end(category, head, last_seen, expected, None if removed is None else removed + walked, result)


def _check_end(
    category: str,
    head: AuditChainHead | None,
    last_seen: int | None,
    last_hash: str,
    count: int | None,
    result: Verification,
) -> None:
    """The chain must end where its signed head says: the newest entries have no later link to
    betray their removal, the head does."""
    if head is None:
        if last_seen is not None:
            result.fail(None, f"{category} has entries but no signed head")
        return
    if not chain.signature_valid(head.signed_fields(), head.signature):
        result.fail(None, f"the head of {category} has a bad signature")
    elif (head.last_id, head.last_hash) != (last_seen, last_hash):
        result.fail(
            head.last_id,
            f"the {category} chain ends at entry {last_seen}, its signed head names entry {head.last_id}",
        )
    elif count is not None and count != head.count:
        result.fail(
            None, f"{category} holds {count} entries with those removed, its head counts {head.count}"
        )


# --- exports and the security view ----------------------------------------------------------


def export_get(*, export_id) -> AuditExport | None:
    return AuditExport.objects.filter(pk=export_id).first()


def security_incidents(*, limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
    """The newest incidents (suspicious logins, alerts, lockouts, token reuse, compliance
    violations), each with the other events of its correlation id, oldest first."""
    condition = Q()
    for event_type, data in INCIDENT_TYPES.items():
        condition |= Q(type=event_type, **{f"data__{key}": value for key, value in data.items()})
    incidents = AuditEntry.objects.filter(condition).order_by("-id")
    if before_id is not None:
        incidents = incidents.filter(id__lt=before_id)
    incidents = list(incidents[:limit])
    related: dict[str, list[AuditEntry]] = defaultdict(list)
    correlation_ids = {incident.correlation_id for incident in incidents}
    for entry in AuditEntry.objects.filter(correlation_id__in=correlation_ids).order_by("id"):
        related[entry.correlation_id].append(entry)
    return [
        {
            "incident": incident,
            "related": [entry for entry in related[incident.correlation_id] if entry.pk != incident.pk],
        }
        for incident in incidents
    ]


def story_events(correlation_id: str) -> list[StoryEvent]:
    """The kept events of one request or task, for the pipeline's story (manage.py trace)."""
    fields = ("event_id", "type", "aggregate_type", "aggregate_id", "sequence", "occurred_at")
    rows = AuditEntry.objects.filter(correlation_id=correlation_id).order_by("id")
    return [
        StoryEvent(**{name: row[name] for name in fields}, kept_at=row["received_at"])
        for row in rows.values(*fields, "received_at")
    ]
