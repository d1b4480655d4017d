"""The e-mail channel: recorded deliveries sent after commit, retried, then dead-lettered."""

from __future__ import annotations

import datetime as dt
import smtplib
import time
import uuid
from functools import partial

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.consumers import backoff
from identity_project.eventbus.models import DeadLetter
from notification.models import Delivery

log = structlog.get_logger(__name__)

DEAD_LETTER_CONSUMER = "notification.delivery"


def send_after_commit(*, event_id: uuid.UUID) -> None:
    transaction.on_commit(partial(send_event, event_id=event_id), robust=True)


def send_event(*, event_id: uuid.UUID) -> None:
    pending = Delivery.objects.filter(
        event_id=event_id, channel=Delivery.Channel.EMAIL, status=Delivery.Status.PENDING
    ).values_list("pk", flat=True)
    for delivery_id in list(pending):
        delivery_send(delivery_id=delivery_id)


def delivery_send(*, delivery_id: int) -> str:
    """Send one pending e-mail; returns its status afterwards ("skipped" if not pending).

    The life of an e-mail Delivery:
    - pending: recorded in the consumer's transaction. After commit the same worker sends it at
      once (send_after_commit), so a mail leaves without another trip through the broker.
    - sending: claimed by a conditional UPDATE (pending -> sending), so the after-commit send, a
      retry task and the sweep never send one row twice at the same time.
    - sent; or back to pending with next_attempt_at when the SMTP server fails transiently (4xx,
      connection refused, timeout): a `notification.send_delivery` task on the rule's lane (urgent or
      not) tries again after an exponential backoff with jitter (eventbus.consumers.backoff).
    - failed: a permanent refusal (5xx) or SEND_MAX_ATTEMPTS spent. A dead letter is stored for
      the consumer "notification.delivery" with the event's envelope; replaying it (admin, API,
      command) puts that event's failed e-mails back to pending and sends them.
    A worker that dies between commit and send, or a retry task lost with the broker, leaves a
    row pending (or sending): the periodic sweep sends it. Sending is at least once: a crash after
    the SMTP server accepted a mail and before the row says sent sends it again.
    """
    claimed = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.get(pk=delivery_id)
    started = time.monotonic()
    try:
        _smtp_send(delivery)
    except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered, never lost
        status = _failed_attempt(delivery, exc)
    else:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), last_error=""
        )
        status = Delivery.Status.SENT
    log.info(
        "notification.send",
        delivery_id=delivery_id,
        event_id=str(delivery.event_id),
        event_type=delivery.event_type,
        correlation_id=delivery.correlation_id,
        attempt=delivery.attempts,
        status=status,
        duration_ms=round((time.monotonic() - started) * 1000, 2),
    )
    return status


def _smtp_send(delivery: Delivery) -> None:
    connection = get_connection(timeout=settings.NOTIFICATION["SMTP_TIMEOUT"])
    message = EmailMultiAlternatives(
        subject=delivery.subject, body=delivery.body_text, to=[delivery.address], connection=connection
    )
    if delivery.body_html:
        message.attach_alternative(delivery.body_html, "text/html")
    message.send()


def is_permanent(exc: BaseException) -> bool:
    """SMTP 5xx answers; 4xx answers, connection errors and anything else may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def describe(exc: BaseException) -> str:
    """The SMTP answer without the address it names: dead letters and logs need no addresses."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [f"{code} {_text(message)}" for code, message in exc.recipients.values()]
        return f"SMTPRecipientsRefused: {'; '.join(answers)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
    return repr(exc)


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def _failed_attempt(delivery: Delivery, exc: BaseException) -> str:
    error = describe(exc)[:2000]
    config = settings.NOTIFICATION
    if not is_permanent(exc) and delivery.attempts < config["SEND_MAX_ATTEMPTS"]:
        countdown = backoff(
            delivery.attempts - 1, factor=config["SEND_BACKOFF_FACTOR"], maximum=config["SEND_BACKOFF_MAX"]
        )
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            last_error=error,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=countdown),
        )
        _schedule(delivery, countdown)
        return Delivery.Status.PENDING
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, last_error=error)
    deadletters.store(
        consumer=DEAD_LETTER_CONSUMER,
        envelope=delivery.envelope or {"event_id": str(delivery.event_id), "type": delivery.event_type},
        reason=DeadLetter.Reason.PERMANENT if is_permanent(exc) else DeadLetter.Reason.RETRIES_EXHAUSTED,
        error=f"e-mail to recipient {delivery.recipient_id} failed: {error}",
        traceback="",
        attempts=delivery.attempts,
    )
    return Delivery.Status.FAILED


def _schedule(delivery: Delivery, countdown: int) -> None:
    from notification.tasks import send_delivery

    queue = routing.NOTIFICATION_URGENT if delivery.urgent else routing.NOTIFICATION
    try:
        send_delivery.apply_async(args=(delivery.pk,), countdown=countdown, queue=queue, retry=False)
    except Exception as exc:  # noqa: BLE001 - the row stays pending: the sweep sends it
        log.warning("notification.retry_not_scheduled", delivery_id=delivery.pk, error=repr(exc))


def pending_sweep() -> int:
    """Send what the after-commit send or a retry task left behind; returns how many were tried."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.NOTIFICATION["SWEEP_AFTER_SECONDS"])
    emails = Delivery.objects.filter(channel=Delivery.Channel.EMAIL)
    # A row stuck in "sending" had its process die mid-send: send again (at least once).
    emails.filter(status=Delivery.Status.SENDING, claimed_at__lt=cutoff).update(
        status=Delivery.Status.PENDING
    )
    stale = list(
        emails.filter(status=Delivery.Status.PENDING, next_attempt_at__lt=cutoff)
        .order_by("-urgent", "pk")
        .values_list("pk", flat=True)[:500]
    )
    for delivery_id in stale:
        delivery_send(delivery_id=delivery_id)
    return len(stale)


def failed_retry(*, event_id: uuid.UUID) -> int:
    """Put an event's failed e-mails back to pending with fresh attempts, each sent after commit by
    a `notification.send_delivery` task on its lane (the replay of a dead letter of
    DEAD_LETTER_CONSUMER, which may run in the web process); returns how many."""
    with transaction.atomic():
        failed = list(
            Delivery.objects.filter(
                event_id=event_id, channel=Delivery.Channel.EMAIL, status=Delivery.Status.FAILED
            )
        )
        Delivery.objects.filter(pk__in=[delivery.pk for delivery in failed]).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        for delivery in failed:
            transaction.on_commit(partial(_schedule, delivery, 0), robust=True)
    return len(failed)
