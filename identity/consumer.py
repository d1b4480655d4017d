"""Identity's own consumer (identity queue): it sends e-mail codes, whose secrets no event carries."""

from django_otp.plugins.otp_email.models import EmailDevice

from identity.events import MFAChallengeIssued
from identity.services import mfa
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered

identity = Consumer("identity", queue=routing.IDENTITY, max_retries=4)


@identity.handles(MFAChallengeIssued)
def send_email_code(delivered: Delivered) -> None:
    """An e-mail challenge gets its code; SMTP trouble is retried by the consumer base."""
    event: MFAChallengeIssued = delivered.event
    if event.method != "email":
        return
    _, _, pk = event.device_id.partition("-")
    device = EmailDevice.objects.filter(pk=int(pk), user_id=event.user_id).first() if pk.isdigit() else None
    if device is None:
        return  # removed since: nothing to send
    device.generate_challenge()


@send_email_code.compensate
def end_the_challenge(delivered: Delivered, error: BaseException) -> None:
    """No code could be sent: the challenge fails (delivery_failed) and its pending session ends."""
    mfa.challenge_delivery_failed(challenge_id=delivered.event.challenge_id)
