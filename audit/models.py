"""The audit trail (append-only, hash-chained entries), its exports, retention runs and checkpoints."""

import uuid

from django.db import models
from django.utils import timezone

from identity_project.eventbus.models import SweepRun


class AuditEntryImmutable(Exception):
    """Audit entries are never changed or removed through the ORM (retention uses its own SQL)."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditEntryImmutable("audit entries cannot be updated")

    def delete(self):
        raise AuditEntryImmutable("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """An event as audit received it: the envelope's fields as columns, the data as JSON, and its
    link in the hash chain of its category."""

    event_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=120)
    version = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=40)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    actor_type = models.CharField(max_length=20)
    actor_id = models.CharField(max_length=64, blank=True)
    correlation_id = models.CharField(max_length=64)
    causation_id = models.UUIDField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField()
    # data.user_id, or the actor's id when a user or an admin acted and the data names no user.
    user_id = models.CharField(max_length=64, blank=True, default="")
    severity = models.CharField(max_length=10, default="low")
    category = models.CharField(max_length=20, default="other")
    prev_hash = models.CharField(max_length=64, default="")
    hash = models.CharField(max_length=64, default="")

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "audit entries"
        # Every filter of the search is paired with id, so "newest first" walks one index backwards.
        indexes = [
            models.Index(fields=["type", "id"], name="audit_type_idx"),
            models.Index(fields=["user_id", "id"], name="audit_user_idx"),
            models.Index(fields=["aggregate_id", "id"], name="audit_aggregate_id_idx"),
            models.Index(fields=["correlation_id", "id"], name="audit_correlation_idx"),
            models.Index(fields=["severity", "id"], name="audit_severity_idx"),
            models.Index(fields=["category", "id"], name="audit_category_idx"),
            models.Index(fields=["occurred_at"], name="audit_occurred_idx"),
        ]
        permissions = [
            ("view_auditlog", "Can search the audit log and verify its chain"),
            ("export_auditlog", "Can export the audit log"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEntryImmutable("audit entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEntryImmutable("audit entries cannot be deleted")


class AuditChainHead(models.Model):
    """The newest link of a category's chain, signed (HMAC with SECRET_KEY) at every append: removing
    the newest entries, which no later link names, shows as a chain ending before its head."""

    category = models.CharField(max_length=20, unique=True)
    last_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField()
    signature = models.CharField(max_length=64)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.category} head: {self.last_id} ({self.count} entries)"

    def signed_fields(self) -> dict:
        return {
            "category": self.category,
            "last_id": self.last_id,
            "last_hash": self.last_hash,
            "count": self.count,
        }


class AuditExport(models.Model):
    """An export of the entries matching some filters, written once to a file under VAR_DIR:
    in the request when it is small, else by a task (pending until the file is written)."""

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON lines"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.UUIDField()
    format = models.CharField(max_length=5, choices=Format.choices)
    filters = models.JSONField(default=dict)
    row_count = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, help_text="Why the task failed (no entry data).")
    # A task's export holds the entries there were when it was asked for, not those audited since.
    upto_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.id} ({self.row_count} rows, {self.format})"


class AuditRetentionRun(SweepRun):
    """One run of the retention task: what it archived and removed, per category, and how it ended."""

    class Meta(SweepRun.Meta):
        pass


class AuditCheckpoint(models.Model):
    """What retention removed from a category's chain: the id range, the count, the hash the next
    entry links to, the archive; signed (HMAC with SECRET_KEY) so it cannot be forged."""

    run = models.ForeignKey(AuditRetentionRun, on_delete=models.PROTECT, related_name="checkpoints")
    category = models.CharField(max_length=20)
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    count = models.PositiveBigIntegerField()
    first_prev_hash = models.CharField(max_length=64)
    last_hash = models.CharField(max_length=64)
    archive_path = models.CharField(max_length=500)
    archive_sha256 = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["category", "last_id"], name="audit_checkpoint_idx")]

    def __str__(self) -> str:
        return f"{self.category} {self.first_id}..{self.last_id} ({self.count})"

    def signed_fields(self) -> dict:
        return {
            "category": self.category,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "count": self.count,
            "first_prev_hash": self.first_prev_hash,
            "last_hash": self.last_hash,
            "archive_sha256": self.archive_sha256,
        }
