"""Identity's own consumer (identity queue): the mails whose secrets no event carries.

Each handler records its mail (and makes an e-mail code) in the consumer's transaction; the
mail goes after commit (identity/mail.py)."""

from django_otp.plugins.otp_email.models import EmailDevice

from identity import mail
from identity.events import MFAChallengeIssued, MFADeviceCreated, PasswordResetRequested
from identity.models import User
from identity.services import mfa_challenges
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered

identity = Consumer("identity", queue=routing.IDENTITY, max_retries=4)


def _email_device(device_key: str, user_id, **where) -> EmailDevice | None:
    _, _, pk = device_key.partition("-")
    if not pk.isdigit():
        return None
    return EmailDevice.objects.filter(pk=int(pk), user_id=user_id, **where).first()


@identity.handles(MFAChallengeIssued)
def send_email_code(delivered: Delivered) -> None:
    """An e-mail challenge gets its code."""
    event: MFAChallengeIssued = delivered.event
    device = _email_device(event.device_id, event.user_id) if event.method == "email" else None
    if device is not None:  # else removed since: nothing to send
        mail.code_record(device=device, event_id=delivered.event_id, challenge_id=event.challenge_id)


@send_email_code.compensate
def end_the_challenge(delivered: Delivered, error: BaseException) -> None:
    """No code could be made: the challenge fails (delivery_failed) and its pending session ends."""
    mfa_challenges.challenge_delivery_failed(challenge_id=delivered.event.challenge_id)


@identity.handles(MFADeviceCreated)
def send_enrolment_code(delivered: Delivered) -> None:
    """An e-mail device being enrolled gets its first code; a good one confirms it."""
    event: MFADeviceCreated = delivered.event
    device = (
        _email_device(event.device_id, event.user_id, confirmed=False) if event.method == "email" else None
    )
    if device is not None:
        mail.code_record(device=device, event_id=delivered.event_id)


@identity.handles(PasswordResetRequested)
def send_reset_link(delivered: Delivered) -> None:
    user = User.objects.filter(pk=delivered.event.user_id, is_active=True).first()
    if user is not None:
        mail.reset_link_record(user=user, event_id=delivered.event_id)
