"""Identity's tasks (identity queue): the reset lookup, and the periodic sweeps."""

from celery import shared_task

from identity.services import compliance, grants, ip_rules, lockout, passwords, roles, sessions
from identity_project.eventbus.context import ANONYMOUS, event_context
from identity_project.eventbus.errors import TransientError


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
def password_reset_request(email: str, ip_address: str, correlation_id: str) -> None:
    """A reset asked for through the API, looked up here (passwords.password_reset_ask says why);
    its event keeps the request's correlation id."""
    with event_context(correlation_id=correlation_id, actor=ANONYMOUS):
        passwords.password_reset_request(email=email, ip_address=ip_address)


@shared_task(name="identity.expire_sessions", ignore_result=True)
def expire_sessions() -> int:
    return sessions.sessions_expire_due()


@shared_task(name="identity.unlock_lapsed_locks", ignore_result=True)
def unlock_lapsed_locks() -> int:
    return lockout.users_unlock_lapsed()


@shared_task(name="identity.expire_grants", ignore_result=True)
def expire_grants() -> int:
    """Role assignments, permission grants and IP rules past their expiry."""
    return roles.assignments_expire_due() + grants.grants_expire_due() + ip_rules.ip_rules_expire_due()


@shared_task(name="identity.compliance_check", ignore_result=True)
def compliance_check() -> int:
    return compliance.daily_check()
