"""What a consumer handled, on record: each event once, with its own time and when it was handled.

By default the consumer base claims every event for its consumer in ProcessedEvent, in the
handler's transaction (idempotency.claim): the claim is what makes a redelivered event change
nothing, and the claims are the record. A consumer whose own rows are unique by event_id, and
whose handler skips the events it stored before, needs no claim: its rows are its record, and a
claim would only repeat them (audit: one entry per event, and entries_append skips the ones
stored). It says so with `Consumer(..., record=OwnRows(...))`.

What reads the record (the pipeline page, its timeline, trace, the benchmarks) asks
`consumer.record.handled(consumer.name)`: rows with event_id, occurred_at and handled_at.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, QuerySet

from identity_project.eventbus.models import ProcessedEvent


class Claims:
    """The consumer base's claims, in ProcessedEvent."""

    claims = True

    def handled(self, consumer: str) -> QuerySet:
        return ProcessedEvent.objects.filter(consumer=consumer).annotate(handled_at=F("processed_at"))


class OwnRows:
    """The consumer's own rows: one per event (a unique event_id), its time in `occurred_at`, the
    time it was handled in the field `handled_at`. The consumer base claims nothing: the handler
    (a batch handler, `handles_all`) gets every event of a message, must skip those it stored
    before, and returns the ids of those it stored, which the metrics count as handled."""

    claims = False

    def __init__(self, model: type[models.Model], *, handled_at: str) -> None:
        self.model = model
        self.handled_at = handled_at

    def handled(self, consumer: str) -> QuerySet:
        return self.model._default_manager.annotate(handled_at=F(self.handled_at))


Record = Claims | OwnRows
