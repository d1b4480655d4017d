"""Signing in with e-mail and password: lockout first, the same answer for every failure."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from identity.errors import AccountLocked, InvalidCredentials
from identity.events import UserLoggedIn, UserLoginFailed
from identity.models import LoginAttempt, User
from identity.services import lockout
from identity.services.sessions import StartedSession, session_start
from identity_project.eventbus.context import Actor, set_actor
from identity_project.eventbus.publisher import publish


@dataclass(frozen=True)
class LoginOutcome:
    started: StartedSession | None = None
    error: type[Exception] | None = None


@cache
def _dummy_hash() -> str:
    return make_password("an unguessable dummy password for timing")


def _fail(*, user: User | None, email: str, ip: str, agent: str, reason: str, now) -> None:
    LoginAttempt.objects.create(user=user, email=email, ip_address=ip, succeeded=False, reason=reason, at=now)
    publish(
        UserLoginFailed(
            user_id=user.id if user else None,
            email_attempted=email,
            ip_address=ip,
            user_agent=agent,
            reason=reason,
        )
    )


def login(*, email: str, password: str, ip_address: str, user_agent: str) -> StartedSession:
    """Check the password and open a session. Every failure is recorded and published, then
    answered after commit: 423 when locked (the password unchecked), else the same 401 for an
    unknown e-mail, a wrong password or an inactive account, at the cost of one hash check."""
    outcome = _attempt(email=email.strip().lower(), password=password, ip=ip_address, agent=user_agent)
    if outcome.error is not None:
        raise outcome.error()
    return outcome.started


@transaction.atomic
def _attempt(*, email: str, password: str, ip: str, agent: str) -> LoginOutcome:
    now = timezone.now()
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        if lockout.unknown_email_locked(email):
            _fail(user=None, email=email, ip=ip, agent=agent, reason="locked", now=now)
            return LoginOutcome(error=AccountLocked)
        check_password(password, _dummy_hash())
        lockout.after_unknown_email_failure(email)
        _fail(user=None, email=email, ip=ip, agent=agent, reason="unknown_user", now=now)
        return LoginOutcome(error=InvalidCredentials)

    lockout.lapse_if_due(user, now)
    if lockout.lock_applies(user, ip, now):
        _fail(user=user, email=email, ip=ip, agent=agent, reason="locked", now=now)
        return LoginOutcome(error=AccountLocked)
    if not user.check_password(password):
        _fail(user=user, email=email, ip=ip, agent=agent, reason="bad_password", now=now)
        lockout.after_password_failure(user, ip, now)
        return LoginOutcome(error=InvalidCredentials)
    if not user.is_active:
        _fail(user=user, email=email, ip=ip, agent=agent, reason="inactive", now=now)
        return LoginOutcome(error=InvalidCredentials)

    set_actor(Actor("user", str(user.id)))
    LoginAttempt.objects.create(user=user, email=email, ip_address=ip, succeeded=True, at=now)
    if user.lock_count and not user.lock_in_force(now):
        user.lock_count = 0
    user.last_login = now
    user.save(update_fields=["last_login", "lock_count"])
    started = session_start(user=user, ip_address=ip, user_agent=agent)
    publish(
        UserLoggedIn(
            user_id=user.id,
            session_id=started.session.id,
            ip_address=ip,
            user_agent=agent,
            mfa_used=False,
            device_id=None,
        )
    )
    return LoginOutcome(started=started)
