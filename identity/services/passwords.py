"""Passwords: change, reset by a single-use e-mailed token, and set by an admin."""

from __future__ import annotations

import structlog
from celery import shared_task
from django.db import transaction
from django.utils import timezone

from identity import reset_tokens
from identity.errors import IdentityError, InvalidCredentials, PasswordRejected, TokenInvalid
from identity.events import PasswordChanged, PasswordResetRequested
from identity.models import AuthSession, User
from identity.services import lockout, reauthentication
from identity.services.accounts import password_validate
from identity.services.sessions import sessions_invalidate_for_user
from identity_project.eventbus import routing
from identity_project.eventbus.context import ANONYMOUS, current_correlation_id, event_context
from identity_project.eventbus.errors import TransientError
from identity_project.eventbus.publisher import enqueue, publish

log = structlog.get_logger(__name__)


def _set(*, user: User, password: str, method: str, keep: AuthSession | None = None) -> int:
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = sessions_invalidate_for_user(user=user, reason="password_changed", keep=keep)
    publish(PasswordChanged(user_id=user.id, method=method, sessions_invalidated=ended))
    return ended


def password_change(*, proof: reauthentication.Proof, current: str, new: str) -> int:
    """The signed-in user changes it; every other session ends (this one stays). The current
    password is this session's re-authentication: a wrong one is counted like a failed sign-in
    and committed before the 400."""
    outcome = _change(proof, current=current, new=new)
    if isinstance(outcome, IdentityError):
        raise outcome
    return outcome


@transaction.atomic
def _change(proof: reauthentication.Proof, *, current: str, new: str) -> int | IdentityError:
    now = timezone.now()
    user = reauthentication.account_for_update(proof.session)
    error = reauthentication.password_check(proof, user=user, password=current, now=now)
    if isinstance(error, InvalidCredentials):
        return PasswordRejected(["The current password is wrong."], field="current_password")
    if error is not None:
        return error
    password_validate(new, user=user, field="new_password")
    reauthentication.session_reauthenticated(proof.session, method="password", now=now)
    return _set(user=user, password=new, method="change", keep=proof.session)


@transaction.atomic
def password_set_by_admin(*, user: User, new: str) -> int:
    password_validate(new, user=user, field="new_password")
    return _set(user=user, password=new, method="admin")


def password_reset_ask(*, email: str, ip_address: str) -> None:
    """What the API does for a reset: one message to the identity worker, whether or not the
    account exists. Looking the account up here would make a known e-mail's answer slower (an
    event, a mail task) than an unknown one's, and the time would tell what the answer hides."""
    enqueue(password_reset_lookup, email, ip_address, current_correlation_id(), queue=routing.IDENTITY)


@transaction.atomic
def password_reset_request(*, email: str, ip_address: str) -> None:
    """In the worker. Known, active account: publish; identity's consumer mails the link.
    Unknown: nothing. The event never carries the token or the link."""
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        return
    publish(PasswordResetRequested(user_id=user.id, ip_address=ip_address))


@shared_task(
    name="identity.password_reset_request",
    # Kept until done, retried when the database hiccups: it leads to a mail.
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientError, OSError),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def password_reset_lookup(email: str, ip_address: str, correlation_id: str) -> None:
    """The task password_reset_ask starts: the reset looked up in the worker, its event keeping
    the request's correlation id."""
    with event_context(correlation_id=correlation_id, actor=ANONYMOUS):
        password_reset_request(email=email, ip_address=ip_address)


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    user = reset_tokens.user_of(token)
    if user is None:
        raise TokenInvalid("The reset link is invalid or has expired.")
    password_validate(new_password, user=user, field="new_password")
    _set(user=user, password=new_password, method="reset")
    lockout.user_unlock(user=user, reason="password_reset")
    return user
