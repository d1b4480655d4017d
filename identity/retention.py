"""Identity's retention: the daily sweep that bounds its tables, and what each keeps.

Each table loses, in small batches (eventbus.retention.delete_in_batches), only rows no reader
can need any more; the run is recorded (RetentionRun) and listed in the admin.

- **Sign-in attempts** older than IDENTITY_LOGIN_ATTEMPT_RETENTION_DAYS, but never less than what
  lockout reads (the lockout window, KNOWN_ADDRESS_DAYS for known addresses), and never those of a
  user whose lock is in force or not yet lifted (`locked_at` set): they are that lock's evidence
  until it ends. Risk reads only the latest successes (risk.HISTORY), within the retention.
- **Refresh tokens** whose JWT expired more than IDENTITY_REFRESH_TOKEN_RETENTION_DAYS ago.
  Such a token is refused by its signature's expiry before its row is looked up, so reuse
  detection never needs it; every token not yet expired stays, used or not, whatever its session
  (a used one is what a replay is caught against). Ended sessions take their tokens with them.
- **Sessions** ended more than IDENTITY_SESSION_RETENTION_DAYS ago (at least a day: risk reads
  the sessions a token reuse ended within 24 hours). Open ones never go: the expiry sweep ends
  them first. Their tokens and challenge go with them (cascade).
- **MFA challenges** created more than IDENTITY_MFA_CHALLENGE_RETENTION_DAYS ago and past their
  expiry: a challenge that may still be answered is never removed, whatever its age. Wrong codes
  are counted from sign-in attempts, not challenges, so the count survives.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from identity.models import AuthSession, LoginAttempt, MFAChallenge, RefreshToken, RetentionRun, User
from identity_project.eventbus.retention import purge, sweep_run


def _days(table: str) -> timedelta:
    return timedelta(days=settings.IDENTITY["RETENTION_DAYS"][table])


def login_attempts_expired(now) -> QuerySet[LoginAttempt]:
    config = settings.IDENTITY
    keep = max(
        _days("login_attempts"),
        timedelta(days=config["KNOWN_ADDRESS_DAYS"]),
        timedelta(seconds=config["LOCKOUT_WINDOW"]),
    )
    locked = User.objects.filter(locked_at__isnull=False).values("pk")
    # Attempts for unknown e-mails (no user) go by age alone.
    return LoginAttempt.objects.filter(
        Q(user__isnull=True) | ~Q(user__in=locked), at__lt=now - keep
    ).order_by("at")


def sessions_expired(now) -> QuerySet[AuthSession]:
    keep = max(_days("sessions"), timedelta(days=1))
    return AuthSession.objects.filter(status=AuthSession.Status.ENDED, ended_at__lt=now - keep).order_by(
        "ended_at"
    )


def refresh_tokens_expired(now) -> QuerySet[RefreshToken]:
    return RefreshToken.objects.filter(expires_at__lt=now - _days("refresh_tokens")).order_by("expires_at")


def mfa_challenges_expired(now) -> QuerySet[MFAChallenge]:
    return MFAChallenge.objects.filter(
        created_at__lt=now - _days("mfa_challenges"), expires_at__lt=now
    ).order_by("created_at")


def expired(now) -> dict[str, QuerySet]:
    """What each table may lose now, in the order of the sweep: sessions before the tokens and
    challenges they take with them. Each is read oldest first along an index of its own, so a
    batch reads its rows and stops, however large the table (a test asserts the plans)."""
    return {
        "login_attempts": login_attempts_expired(now),
        "sessions": sessions_expired(now),
        "refresh_tokens": refresh_tokens_expired(now),
        "mfa_challenges": mfa_challenges_expired(now),
    }


def retention_apply(*, now=None) -> RetentionRun:
    """Apply every table's retention once, in batches of IDENTITY_RETENTION_BATCH."""
    now = now or timezone.now()
    batch = settings.IDENTITY["RETENTION_BATCH"]
    steps = {name: purge(queryset, batch=batch) for name, queryset in expired(now).items()}
    return sweep_run(RetentionRun, steps, now=now)


@shared_task(name="identity.apply_retention", ignore_result=True)
def apply_retention() -> int:
    return retention_apply().pk
