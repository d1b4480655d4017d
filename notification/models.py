"""Notification tables: rules (editable data), deliveries per channel, in-app notices, preferences."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from identity_project.eventbus.models import SweepRun
from identity_project.eventbus.outbound.records import OutboundAttempt, OutboundRecord
from notification import events


class Category(models.TextChoices):
    SECURITY_ALERTS = "security_alerts", "Security alerts"
    SECURITY = "security", "Sign-ins, devices and MFA"
    ACCOUNT = "account", "Account"
    ACCESS = "access", "Roles and permissions"
    ADMIN = "admin", "Administration"


# Categories whose notifications nobody may turn off (the preferences API refuses it).
MANDATORY_CATEGORIES = frozenset({Category.SECURITY_ALERTS})


class NotificationRule(models.Model):
    """Which event notifies whom, how, and how often: the admin edits these rows."""

    class Recipients(models.TextChoices):
        USER = "user", "The user concerned (data.user_id)"
        PERMISSION = "permission", "Holders of a permission"
        APPROVERS = "approvers", "Holders of the permission, except the user concerned"

    key = models.SlugField(max_length=60, unique=True)
    event_type = models.CharField(max_length=120, db_index=True)
    is_active = models.BooleanField(default=True)
    recipients = models.CharField(max_length=12, choices=Recipients.choices, default=Recipients.USER)
    permission = models.CharField(
        max_length=120, blank=True, help_text="app_label.codename, for permission and approvers recipients"
    )
    email = models.BooleanField(default=True)
    in_app = models.BooleanField(default=True)
    template = models.CharField(
        max_length=60, help_text="notification/messages/<template>.txt: first line subject, then the body"
    )
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.SECURITY)
    mandatory = models.BooleanField(default=False, help_text="Sent whatever the recipient's preferences.")
    conditions = models.JSONField(
        default=dict,
        blank=True,
        help_text='Data fields the event must match, e.g. {"reason": "reuse_detected"}',
    )
    dedupe_field = models.CharField(
        max_length=60, blank=True, help_text="Notify once per recipient and value of this data field."
    )
    threshold_count = models.PositiveIntegerField(
        default=1, help_text="Events of one user within the window before one alert is sent."
    )
    threshold_window_seconds = models.PositiveIntegerField(
        default=0, help_text="The window; after an alert, further events within it go to the digest."
    )

    class Meta:
        ordering = ["event_type", "key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold_count__lte=1) | models.Q(threshold_window_seconds__gt=0),
                name="notification_threshold_has_window",
                violation_error_message="A threshold above 1 needs a window.",
            )
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def urgent(self) -> bool:
        """Its event's lane (notification/events.py): its sends go through notification.urgent,
        retries included, and are not rate limited."""
        return events.is_urgent(self.event_type)

    def clean(self) -> None:
        """A rule for an event the notification consumer does not take would never fire."""
        super().clean()
        if self.event_type not in events.EVENT_TYPES:
            raise ValidationError(
                {
                    "event_type": f"The notification consumer does not take {self.event_type!r}: a rule "
                    "may name only an event of notification/events.py."
                }
            )


class Delivery(OutboundRecord):
    """One message to one recipient on one channel; recorded in the consumer's transaction,
    e-mails sent after commit through the outbound mechanism (channels.py). Unique per
    (event_id, recipient, channel): a redelivered event records nothing more. Digests are
    deliveries too, with an event_id of their own. In-app deliveries are written sent."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        IN_APP = "in_app", "In-app"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing left to send)"
        FOLDED = "folded", "Folded into a digest"
        DIGESTED = "digested", "Sent in a digest"

    event_type = models.CharField(max_length=120)
    correlation_id = models.CharField(max_length=64, blank=True)
    rule = models.ForeignKey(NotificationRule, null=True, blank=True, on_delete=models.SET_NULL)
    recipient_id = models.UUIDField()
    address = models.CharField(max_length=254, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    category = models.CharField(max_length=20, choices=Category.choices)
    urgent = models.BooleanField(default=False)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    envelope = models.JSONField(null=True, blank=True, help_text="The event, kept for the dead letter.")
    digest = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="folded"
    )

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "recipient_id", "channel"], name="notification_delivery_once"
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="notification_delivery_status"),
            models.Index(fields=["recipient_id", "category", "created_at"], name="notification_rate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.address or self.recipient_id}: {self.subject}"


class DeliveryAttempt(OutboundAttempt):
    """One SMTP conversation about one e-mail delivery."""

    record = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_made")


class Notification(models.Model):
    """An in-app notification, listed by GET me/notifications."""

    user_id = models.UUIDField()
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=120)
    category = models.CharField(max_length=20, choices=Category.choices)
    title = models.CharField(max_length=255)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "user_id"], name="notification_in_app_once")
        ]
        indexes = [
            models.Index(fields=["user_id", "-created_at", "-id"], name="notification_user_idx"),
            models.Index(fields=["created_at"], name="notification_created_idx"),  # retention
        ]

    def __str__(self) -> str:
        return self.title


class Preference(models.Model):
    """A user's choice for one category; no row means everything on."""

    user_id = models.UUIDField()
    category = models.CharField(max_length=20, choices=Category.choices)
    email = models.BooleanField(default=True)
    in_app = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "category"], name="notification_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}"


class ThresholdHit(models.Model):
    """One counted event of a threshold rule (unique per event: a redelivery counts once)."""

    rule = models.ForeignKey(NotificationRule, on_delete=models.CASCADE)
    subject_id = models.UUIDField()
    event_id = models.UUIDField()
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_id"], name="notification_threshold_hit_once")
        ]
        indexes = [models.Index(fields=["rule", "subject_id", "occurred_at"], name="notification_hit_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.subject_id} {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class Gate(models.Model):
    """A per-key row locked (SELECT ... FOR UPDATE) to serialise threshold and rate decisions of
    one user across workers; also remembers when its last alert went out."""

    key = models.CharField(max_length=200, unique=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["last_alert_at"], name="notification_gate_alert_idx")]  # retention

    def __str__(self) -> str:
        return self.key


class DedupeMark(models.Model):
    """A (rule, recipient, value) already notified: one "new device" mail per device."""

    rule = models.ForeignKey(NotificationRule, on_delete=models.CASCADE)
    recipient_id = models.UUIDField()
    value = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "recipient_id", "value"], name="notification_dedupe_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="notification_dedupe_age_idx")]  # retention

    def __str__(self) -> str:
        return f"{self.rule_id} {self.recipient_id} {self.value}"


class RetentionRun(SweepRun):
    """One daily run of notification's retention (notification/retention.py)."""

    class Meta(SweepRun.Meta):
        verbose_name = "retention run"
