"""Identity's periodic sweeps (the beat schedule names them)."""

from celery import shared_task

from identity.services import compliance, grants, ip_rules, lockout, roles, sessions


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
