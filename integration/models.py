"""Webhook subscriptions, the deliveries recorded for them and every attempt to send one."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from identity_project.eventbus.outbound.records import OutboundAttempt, OutboundRecord


class WebhookSubscription(models.Model):
    """An outside endpoint and the events it wants; its id keys its circuit in the shared cache."""

    class Payload(models.TextChoices):
        EVENT = "event", "The event envelope"
        STATE = "state", "The envelope and the user's current state (sync feed)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list, help_text="Type patterns, e.g. identity.user.*")
    is_siem = models.BooleanField(
        default=False, help_text="Also receives the compliance feed and the daily summary."
    )
    payload = models.CharField(max_length=10, choices=Payload.choices, default=Payload.EVENT)
    # The secret must be readable to sign with it (HMAC), so it cannot be stored hashed.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [("manage_webhooks", "Can manage webhook subscriptions")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(OutboundRecord):
    """One event for one subscription, recorded in the consumer's transaction and sent through
    the outbound mechanism (integration/services/channel.py); also the record a replay re-sends from
    (integration keeps its own, it never reads the audit trail)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (stale)"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=120)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    occurred_at = models.DateTimeField()
    envelope = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Waiting for its endpoint's circuit to close (or the subscription to come back): sent in
    # order by the resume task, without using up its retries.
    held = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_unique")
        ]
        indexes = [
            models.Index(
                fields=["subscription", "occurred_at", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_pending_idx",
            ),
            models.Index(
                fields=["subscription", "aggregate_type", "aggregate_id", "sequence"],
                name="webhook_delivery_aggregate_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.subscription_id}"


class WebhookAttempt(OutboundAttempt):
    """One HTTP request that left the process: status code, duration, truncated answer, error.
    An attempt made while waiting behind the circuit (a probe) is not counted."""

    record = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts_made")

    def __str__(self) -> str:
        return f"{self.record_id}: {self.status_code or self.error[:40]}"
