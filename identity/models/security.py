"""The second factor and the signals around a sign-in: MFA challenges, browsers (devices), IP rules."""

from __future__ import annotations

import ipaddress
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class MFAChallenge(models.Model):
    """The second step of one sign-in: its pending session waits for a good code."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mfa_challenges"
    )
    session = models.OneToOneField(
        "identity.AuthSession", on_delete=models.CASCADE, related_name="mfa_challenge"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    device_id = models.CharField(max_length=100, blank=True, help_text="django-otp persistent id")
    method = models.CharField(max_length=10, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=20, blank=True)
    # The steps of one sign-in (select, verify) continue its story under the login's correlation id.
    correlation_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["user", "status", "created_at"], name="mfa_challenge_user_idx"),
            models.Index(fields=["created_at"], name="mfa_challenge_created_idx"),  # retention
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class Device(models.Model):
    """A browser or app a user signs in from, known by a salted hash of its fingerprint."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    fingerprint_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    trusted_until = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "fingerprint_hash"], name="device_fingerprint_unique")
        ]

    def __str__(self) -> str:
        return self.name or f"device {self.id}"

    def is_trusted(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.trusted_until is not None and self.trusted_until > now


class IPRule(models.Model):
    """A CIDR on the allow or block list, for everyone or for one user, maybe until a time."""

    class List(models.TextChoices):
        ALLOW = "allow", "Allow"
        BLOCK = "block", "Block"

    class Scope(models.TextChoices):
        GLOBAL = "global", "Global"
        USER = "user", "One user"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cidr = models.CharField(max_length=64)
    list = models.CharField(max_length=5, choices=List.choices)
    scope = models.CharField(max_length=6, choices=Scope.choices, default=Scope.GLOBAL)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="ip_rules"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    automatic = models.BooleanField(default=False, help_text="Made by the credential-stuffing guard.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # On PostgreSQL a GiST index on `cidr::inet` (migration 0007, raw SQL: the model's field is
        # text, for SQLite) serves address_refused's containment query.
        indexes = [
            models.Index(fields=["list", "scope"], name="ip_rule_list_idx"),
            models.Index(fields=["cidr"], name="ip_rule_cidr_idx"),
            models.Index(
                fields=["expires_at"], condition=models.Q(expires_at__isnull=False), name="ip_rule_expiry_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.list} {self.cidr}"

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)
