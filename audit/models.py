"""The audit trail: one append-only entry per event."""

from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """An event as audit received it: the envelope's fields as columns, the data as JSON."""

    event_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=120, db_index=True)
    version = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=40)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    actor_type = models.CharField(max_length=20)
    actor_id = models.CharField(max_length=64, blank=True)
    correlation_id = models.CharField(max_length=64, db_index=True)
    causation_id = models.UUIDField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField()

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["aggregate_type", "aggregate_id", "sequence"], name="audit_aggregate_idx"),
            models.Index(fields=["occurred_at"], name="audit_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
