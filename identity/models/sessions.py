"""Server-side sessions, their refresh-token family, and sign-in attempts (for lockout and risk)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AuthSession(models.Model):
    """One sign-in: its JWTs carry its id, and end the moment it ends (not at their expiry)."""

    class Status(models.TextChoices):
        PENDING_MFA = "pending_mfa", "Waiting for the second factor"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions")
    family_id = models.UUIDField(default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    session_type = models.CharField(max_length=10, default="password")
    mfa_used = models.BooleanField(default=False)
    device = models.ForeignKey(
        "identity.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="The absolute end of the session.")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)
    authenticated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its user last proved who they are (the sign-in, a re-authentication): "
        "sensitive changes need this recent.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["user", "status"], name="session_user_status_idx"),
            # The expiry sweep's two ways a session ends (its absolute end, or idle too long), over
            # open sessions only, so its OR is two small index scans; and retention's ended ones.
            models.Index(fields=["expires_at"], condition=~Q(status="ended"), name="session_open_expiry_idx"),
            models.Index(fields=["last_seen_at"], condition=~Q(status="ended"), name="session_open_idle_idx"),
            models.Index(fields=["ended_at"], condition=Q(status="ended"), name="session_ended_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status} since {self.created_at:%Y-%m-%d %H:%M}"


class RefreshToken(models.Model):
    """A refresh token of a session's family; only its jti and fate are kept, never the token."""

    jti = models.CharField(max_length=64, unique=True)
    session = models.ForeignKey(AuthSession, on_delete=models.CASCADE, related_name="refresh_tokens")
    family_id = models.UUIDField()
    parent_jti = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="Rotated: a second use is theft.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["family_id"], name="refresh_family_idx"),
            models.Index(fields=["expires_at"], name="refresh_expiry_idx"),  # retention
        ]

    def __str__(self) -> str:
        return self.jti


class LoginAttempt(models.Model):
    """A password step, good or bad: what lockout counts and risk scoring reads."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE)
    email = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField()
    succeeded = models.BooleanField()
    reason = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "at"], name="attempt_user_at_idx"),
            models.Index(fields=["ip_address", "at"], name="attempt_ip_at_idx"),
            models.Index(fields=["email", "at"], name="attempt_email_at_idx"),
            models.Index(fields=["at"], name="attempt_at_idx"),  # retention
            # Risk reads a user's latest successes only, however many failures lie between them.
            models.Index(fields=["user", "at"], condition=Q(succeeded=True), name="attempt_user_success_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.ip_address}: {'ok' if self.succeeded else self.reason}"
