"""Identity's tasks (identity queue): mails that carry secrets, and the periodic sweeps."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django_otp.plugins.otp_email.models import EmailDevice

from identity import reset_tokens
from identity.models import User
from identity.services import compliance, grants, ip_rules, lockout, passwords, roles, sessions
from identity_project.eventbus.context import ANONYMOUS, event_context
from identity_project.eventbus.errors import TransientError

# Tasks that send or lead to a mail: kept until done, retried when the mail server or the
# database hiccups.
MAIL_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (TransientError, OSError),
    "retry_backoff": True,
    "max_retries": 5,
    "ignore_result": True,
}


@shared_task(
    name="identity.password_reset_request",
    **MAIL_TASK,
)
def password_reset_request(email: str, ip_address: str, correlation_id: str) -> None:
    """A reset asked for through the API, looked up here (passwords.password_reset_ask says why);
    its event keeps the request's correlation id."""
    with event_context(correlation_id=correlation_id, actor=ANONYMOUS):
        passwords.password_reset_request(email=email, ip_address=ip_address)


@shared_task(
    name="identity.send_password_reset",
    **MAIL_TASK,
)
def send_password_reset(user_id: str) -> None:
    """The token is made here, in the worker, so it never travels through the broker."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return  # gone since: nothing to send
    link = settings.IDENTITY["PASSWORD_RESET_URL"].format(token=reset_tokens.make(user))
    send_mail(
        subject="Reset your password",
        message=f"Someone asked to reset the password of {user.email}.\n\n"
        f"If it was you, open this link within a few days: {link}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


@shared_task(
    name="identity.send_enrolment_code",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def send_enrolment_code(device_id: int) -> None:
    """The first code of an e-mail device being enrolled, made and sent here in the worker."""
    device = EmailDevice.objects.filter(pk=device_id, confirmed=False).first()
    if device is not None:
        device.generate_challenge()


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
