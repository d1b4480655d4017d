"""Brute-force lockout, Keycloak-like, that an attacker cannot turn into a denial of service.

Failures are counted per account and per (account, address), whatever the door (the API, the
admin site, a re-authentication). Password failures: THRESHOLD within WINDOW lock the account for
BASE * 2**(locks so far); after MAX_TEMPORARY_LOCKS the lock lasts until an admin lifts it.
Wrong second-factor codes have their own count, per account across every challenge, finished or
abandoned: MFA_LOCK_THRESHOLD of them within WINDOW lock the same way.
An address with a recent successful sign-in (NIST 800-63B; only a whole sign-in, second factor
included, makes an address known) is not locked out by failures from elsewhere: a
too_many_failures lock does not apply to it unless that address failed THRESHOLD passwords or
MFA_LOCK_THRESHOLD codes itself. Unknown e-mails are counted too (in the cache), so a 423 never
tells whether an account exists.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from identity.events import UserLocked, UserUnlocked
from identity.models import LoginAttempt, User
from identity.services.sessions import sessions_invalidate_for_user
from identity.services.sweeps import each_due
from identity_project import cache as counters
from identity_project.eventbus.publisher import publish

FAILURE_LOCK = "too_many_failures"
LOCK_FIELDS = ("locked_at", "locked_until", "lock_reason", "lock_count")


def _config(name: str) -> int:
    return settings.IDENTITY[name]


def _window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=_config("LOCKOUT_WINDOW"))


def is_known_address(user: User, ip_address: str, now: datetime) -> bool:
    since = now - timedelta(days=_config("KNOWN_ADDRESS_DAYS"))
    return LoginAttempt.objects.filter(
        user=user, ip_address=ip_address, succeeded=True, at__gte=since
    ).exists()


BAD_CODE = "bad_code"


def _failures(
    user: User,
    now: datetime,
    *,
    reason: str = "bad_password",
    ip_address: str | None = None,
    exclude_known: bool = False,
) -> int:
    failures = LoginAttempt.objects.filter(
        user=user, succeeded=False, reason=reason, at__gte=_window_start(now)
    )
    if ip_address is not None:
        failures = failures.filter(ip_address=ip_address)
    if exclude_known:
        since = now - timedelta(days=_config("KNOWN_ADDRESS_DAYS"))
        known = LoginAttempt.objects.filter(user=user, succeeded=True, at__gte=since).values("ip_address")
        failures = failures.exclude(ip_address__in=known)
    return failures.count()


def lock_applies(user: User, ip_address: str, now: datetime) -> bool:
    """Is this sign-in refused by a lock? A failure lock spares known addresses that behave."""
    if not user.lock_in_force(now):
        return False
    if user.lock_reason != FAILURE_LOCK or not is_known_address(user, ip_address, now):
        return True
    return _failures(user, now, ip_address=ip_address) >= _config("LOCKOUT_THRESHOLD") or _failures(
        user, now, reason=BAD_CODE, ip_address=ip_address
    ) >= _config("MFA_LOCK_THRESHOLD")


def lapse_if_due(user: User, now: datetime) -> None:
    """A temporary lock that has run out ends here (UserUnlocked reason expired)."""
    if user.locked_at is not None and user.locked_until is not None and user.locked_until <= now:
        _clear(user, reason="expired")


def after_password_failure(user: User, ip_address: str, now: datetime) -> None:
    """Lock when this failure reaches the threshold, counting the right failures."""
    if user.lock_in_force(now):
        return
    threshold = _config("LOCKOUT_THRESHOLD")
    if is_known_address(user, ip_address, now):
        reached = _failures(user, now, ip_address=ip_address) >= threshold
    else:
        reached = _failures(user, now, exclude_known=True) >= threshold
    if reached:
        user_lock(user=user, reason=FAILURE_LOCK, now=now)


def second_factor_failures(user: User, now: datetime) -> int:
    """The account's wrong second-factor codes within the window, every challenge and
    re-authentication together."""
    return _failures(user, now, reason=BAD_CODE)


def after_second_factor_failure(user: User, ip_address: str, now: datetime) -> bool:
    """Record a wrong second-factor code (a sign-in's or a re-authentication's) and lock when the
    account's wrong codes within the window reach MFA_LOCK_THRESHOLD. True when this locked."""
    LoginAttempt.objects.create(
        user=user, email=user.email, ip_address=ip_address, succeeded=False, reason=BAD_CODE, at=now
    )
    if user.lock_in_force(now) or second_factor_failures(user, now) < _config("MFA_LOCK_THRESHOLD"):
        return False
    user_lock(user=user, reason=FAILURE_LOCK, now=now)
    return True


@transaction.atomic
def user_lock(*, user: User, reason: str, now: datetime | None = None) -> None:
    """Lock for a period that doubles with each lock, or until an admin unlocks (admin locks,
    and failure locks past MAX_TEMPORARY_LOCKS). Admin and suspicious locks end every session
    and token family of the user in the same transaction."""
    user.refresh_from_db(from_queryset=User.objects.select_for_update(), fields=LOCK_FIELDS)
    now = now or timezone.now()
    temporary = reason == "suspicious" or (
        reason == FAILURE_LOCK and user.lock_count < _config("LOCKOUT_MAX_TEMPORARY_LOCKS")
    )
    until = now + timedelta(seconds=_config("LOCKOUT_BASE") * 2**user.lock_count) if temporary else None
    user.locked_at, user.locked_until, user.lock_reason = now, until, reason
    user.lock_count += 1
    user.save(update_fields=LOCK_FIELDS)
    publish(UserLocked(user_id=user.id, reason=reason, locked_until=until))
    if reason != FAILURE_LOCK:
        sessions_invalidate_for_user(user=user, reason="user_locked")


@transaction.atomic
def user_unlock(*, user: User, reason: str) -> bool:
    """Lift a lock (admin, password reset); False when there was none."""
    user.refresh_from_db(from_queryset=User.objects.select_for_update(), fields=LOCK_FIELDS)
    if user.locked_at is None:
        return False
    _clear(user, reason=reason)
    if reason != "expired":
        user.lock_count = 0
        user.save(update_fields=["lock_count"])
    return True


def _clear(user: User, *, reason: str) -> None:
    user.locked_at, user.locked_until, user.lock_reason = None, None, ""
    user.save(update_fields=["locked_at", "locked_until", "lock_reason"])
    publish(UserUnlocked(user_id=user.id, reason=reason))


def locks_lapsed(now: datetime) -> QuerySet[User]:
    """Temporary locks that ran out, read from the partial index of locked users
    (user_lapsing_lock_idx), never a scan of every user."""
    return User.objects.filter(locked_at__isnull=False, locked_until__lte=now)


def users_unlock_lapsed(*, now: datetime | None = None) -> int:
    """The periodic sweep for locks that ran out without anyone trying to sign in. Each unlock
    commits with its UserUnlocked; a user locked again meanwhile is not due any more, and keeps
    the new lock."""
    return each_due(locks_lapsed(now or timezone.now()), lambda user: _clear(user, reason="expired"))


# --- e-mails without an account --------------------------------------------------------------


def _unknown_key(email: str) -> str:
    return "lockout:unknown:" + hashlib.sha256(email.encode()).hexdigest()


def unknown_email_locked(email: str) -> bool:
    return (cache.get(_unknown_key(email)) or 0) >= _config("LOCKOUT_THRESHOLD")


def after_unknown_email_failure(email: str) -> None:
    counters.count(cache, _unknown_key(email), timeout=_config("LOCKOUT_WINDOW"))
