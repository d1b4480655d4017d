"""Identity's mails on the outbound mechanism: a password-reset link and e-mail codes.

Each is recorded (OutgoingMail) in the transaction that decides it, keyed by the event that
decided it, and sent after that transaction commits: a commit that fails sends nothing, and a
redelivered event finds its mail recorded and sends nothing new. An e-mail code is made in that
transaction (the device keeps it) and read from the device when the mail goes, so a retry after
an SMTP failure sends the same code, and the first one still works. A reset link is made when
the mail goes (the token is stateless: every link made stays good until the password changes).
Mails that fail for good are dead-lettered as "identity.mail"; a code that could not be sent
fails its challenge and ends the pending session.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.template import Context, Template
from django.template.loader import get_template
from django.utils import timezone
from django_otp.plugins.otp_email.conf import settings as otp_email
from django_otp.plugins.otp_email.models import EmailDevice

from identity import reset_tokens
from identity.models import OutgoingMail, OutgoingMailAttempt, User
from identity.services import mfa_challenges
from identity_project.eventbus import routing
from identity_project.eventbus.outbound import mail, sender
from identity_project.eventbus.outbound.channel import SENT, Channel, Outcome, RetryPolicy

NOTHING_TO_SEND = Outcome(ok=False, skipped=True)


class IdentityMailChannel(Channel):
    name = "identity.mail"
    model = OutgoingMail
    attempt_model = OutgoingMailAttempt

    def policy(self) -> RetryPolicy:
        return RetryPolicy.configured(settings.IDENTITY, "MAIL_")

    def queue(self, record: OutgoingMail) -> str:
        return routing.IDENTITY

    def send(self, record: OutgoingMail, *, deadline: float) -> Outcome:
        if record.kind == OutgoingMail.Kind.EMAIL_CODE:
            return _send_code(record, deadline)
        return _send_reset_link(record, deadline)

    def outcome_of(self, exc: Exception) -> Outcome:
        return mail.outcome_of(exc)

    def given_up(self, record: OutgoingMail) -> None:
        if record.challenge_id is not None:
            mfa_challenges.challenge_delivery_failed(challenge_id=record.challenge_id)

    def envelope(self, record: OutgoingMail) -> dict:
        return {"event_id": str(record.event_id), "type": f"{self.name}.{record.kind}"}

    def describe(self, record: OutgoingMail) -> str:
        return f"{record.get_kind_display()} to user {record.user_id}"


channel = IdentityMailChannel()


# --- recording ------------------------------------------------------------------------------


def code_record(*, device: EmailDevice, event_id: uuid.UUID, challenge_id: uuid.UUID | None = None) -> None:
    """In a worker: make the device's code and record its mail in the transaction; sent after commit."""
    device.cooldown_set(commit=False)
    device.generate_token(valid_secs=otp_email.OTP_EMAIL_TOKEN_VALIDITY, commit=True)
    record = OutgoingMail.objects.create(
        kind=OutgoingMail.Kind.EMAIL_CODE,
        event_id=event_id,
        user_id=device.user_id,
        device_id=device.pk,
        challenge_id=challenge_id,
    )
    sender.send_after_commit(channel, pk=record.pk)


def reset_link_record(*, user: User, event_id: uuid.UUID) -> None:
    record = OutgoingMail.objects.create(
        kind=OutgoingMail.Kind.PASSWORD_RESET, event_id=event_id, user_id=user.pk
    )
    sender.send_after_commit(channel, pk=record.pk)


# --- sending --------------------------------------------------------------------------------


def _send_code(record: OutgoingMail, deadline: float) -> Outcome:
    device = EmailDevice.objects.filter(pk=record.device_id).select_related("user").first()
    if device is None or not device.token or device.valid_until <= timezone.now():
        return NOTHING_TO_SEND  # removed, used or expired since: a code nobody can use
    context = {"token": device.token}
    if otp_email.OTP_EMAIL_BODY_TEMPLATE:
        text = Template(otp_email.OTP_EMAIL_BODY_TEMPLATE).render(Context(context))
    else:
        text = get_template(otp_email.OTP_EMAIL_BODY_TEMPLATE_PATH).render(context)
    mail.send_email(
        subject=device.get_subject(), text=text, to=device.email or device.user.email, deadline=deadline
    )
    return SENT


def _send_reset_link(record: OutgoingMail, deadline: float) -> Outcome:
    user = User.objects.filter(pk=record.user_id, is_active=True).first()
    if user is None:
        return NOTHING_TO_SEND  # gone since
    link = settings.IDENTITY["PASSWORD_RESET_URL"].format(token=reset_tokens.make(user))
    mail.send_email(
        subject="Reset your password",
        text=f"Someone asked to reset the password of {user.email}.\n\n"
        f"If it was you, open this link within a few days: {link}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.",
        to=user.email,
        deadline=deadline,
    )
    return SENT
