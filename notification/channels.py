"""Notification's e-mail channel on the outbound mechanism: its lanes, its retry policy, SMTP.

The life of an e-mail Delivery is the sender's (identity_project/eventbus/outbound/sender.py):
recorded pending in the consumer's transaction, sent after commit by the same worker, retried on
the rule's lane (urgent or not) after a transient SMTP failure, failed and dead-lettered as
"notification.delivery" after a permanent refusal (5xx) or SEND_MAX_ATTEMPTS; replaying that
letter sends the event's failed e-mails again.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from identity_project.eventbus import routing
from identity_project.eventbus.outbound import mail
from identity_project.eventbus.outbound.channel import SENT, Channel, Outcome, RetryPolicy
from notification.models import Delivery, DeliveryAttempt


class EmailChannel(Channel):
    name = "notification.delivery"
    model = Delivery
    attempt_model = DeliveryAttempt

    def policy(self) -> RetryPolicy:
        return RetryPolicy.configured(settings.NOTIFICATION, "SEND_")

    def queue(self, record: Delivery) -> str:
        return routing.NOTIFICATION_URGENT if record.urgent else routing.NOTIFICATION

    def records(self) -> QuerySet:
        return Delivery.objects.filter(channel=Delivery.Channel.EMAIL)

    def send(self, record: Delivery, *, deadline: float) -> Outcome:
        mail.send_email(
            subject=record.subject,
            text=record.body_text,
            html=record.body_html,
            to=record.address,
            deadline=deadline,
            timeout=settings.NOTIFICATION["SMTP_TIMEOUT"],
        )
        return SENT

    def outcome_of(self, exc: Exception) -> Outcome:
        return mail.outcome_of(exc)

    def describe(self, record: Delivery) -> str:
        return f"e-mail to recipient {record.recipient_id}"


email = EmailChannel()
