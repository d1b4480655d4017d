"""The event bus's tables: the transactional outbox, per-aggregate sequences, processed events,
failed delivery attempts and the dead-letter store."""

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event committed with the change that caused it, waiting to be sent to the broker. The
    relay deletes it once sent: the table holds only what waits (the audit trail keeps every event)."""

    event_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=120)
    version = models.PositiveSmallIntegerField()
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    correlation_id = models.CharField(max_length=64, db_index=True)
    envelope = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    # Failed sends of this row (broker down, deadline missed), and the last one's error.
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class OutboxTask(models.Model):
    """A Celery task started by a request or a task, committed with its change and sent by the
    relay like the events (then deleted): starting work never waits on the broker either."""

    name = models.CharField(max_length=200)
    args = models.JSONField()
    queue = models.CharField(max_length=60)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} on {self.queue}"


class AggregateSequence(models.Model):
    """The last `sequence` given to an aggregate; bumped in the publishing transaction, so
    a rollback gives the number back and sequences have no gaps."""

    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    last_sequence = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id"], name="aggregate_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.aggregate_type} {self.aggregate_id}: {self.last_sequence}"


class ProcessedEvent(models.Model):
    """(consumer, event_id) written in the handler's own transaction: the idempotency key."""

    consumer = models.CharField(max_length=40)
    event_id = models.UUIDField()
    # The event's own time (set in its committing transaction): the pipeline's latencies are
    # processed_at minus this, since the outbox row is gone once sent.
    occurred_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event_id"], name="processed_event_unique")
        ]
        # The pipeline's last-hour counts and charts, and retention, select by time.
        indexes = [models.Index(fields=["processed_at"], name="processed_event_time_idx")]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_id}"


class DeliveryFailure(models.Model):
    """One failed attempt of a consumer on an event (kept for tracing and the retry counts)."""

    consumer = models.CharField(max_length=40)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=120)
    attempt = models.PositiveIntegerField()
    error = models.TextField()
    transient = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["consumer", "event_id"], name="delivery_failure_event_idx")]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_type} {self.event_id} attempt {self.attempt}"


class DeadLetter(models.Model):
    """An event a consumer could not apply: the whole envelope, why, and how often it tried."""

    class Reason(models.TextChoices):
        PERMANENT = "permanent", "Permanent error"
        RETRIES_EXHAUSTED = "retries_exhausted", "Retries exhausted"
        DELIVERY_LIMIT = "delivery_limit", "Delivery limit (killed its worker)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        REPLAYED = "replayed", "Replayed"
        DISCARDED = "discarded", "Discarded"

    consumer = models.CharField(max_length=40)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=120)
    envelope = models.JSONField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    error = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event_id"], name="dead_letter_unique")]
        indexes = [models.Index(fields=["status", "consumer"], name="dead_letter_status_idx")]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_type} {self.event_id}"


class SweepRun(models.Model):
    """One run of an app's retention sweep: what each table lost, in how many batches, and how
    it ended. Abstract: each app that sweeps keeps its runs in a table of its own (this layer
    adds no table), and lists them in its admin with `admin.SweepRunAdmin`."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    outcome = models.JSONField(default=dict)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention {self.started_at:%Y-%m-%d %H:%M} {self.status}"
