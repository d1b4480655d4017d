"""The shape of an outbound record and of one attempt at sending it, declared once.

Each channel's table inherits OutboundRecord (adding what is its own: an address, a
subscription) and keeps its attempts in a table inheriting OutboundAttempt, with a foreign key
named `record` and related name `attempts_made`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (nothing left to send)"


class OutboundRecord(models.Model):
    """One thing to send. Its state changes only by conditional UPDATEs of the sender
    (sender.py), never by saving an instance read earlier."""

    event_id = models.UUIDField(help_text="The event that decided the send: its dead letter's key.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts counted against the retries")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The attempt in flight: its claim token and the end of its lease (longer than the attempt's
    # total deadline, so a lease that ended belongs to an attempt that is over or dead).
    claim = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Asked to be sent again while an attempt was in flight: it goes again once that one ends.
    again = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class OutboundAttempt(models.Model):
    """One try that left the process: what came back, how long it took."""

    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # A try that uses none of the retries (a webhook's probe behind an open circuit).
    counted = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]
