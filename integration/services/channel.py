"""Integration's webhook channel on the outbound mechanism: what is a webhook's own.

The sender (identity_project/eventbus/outbound/sender.py) claims, retries, keeps the attempts
and dead-letters as "integration.webhook". This channel decides, before each attempt, whether the
delivery waits behind its endpoint (an inactive subscription, a circuit not closed, deliveries
already waiting: they go first, in order) or is stale; it sends the signed POST (sending.py);
and it tells the circuit breaker what came back. A delivery that waits is held: only the resume
task (resume.py) sends held deliveries, oldest first, the first of them as
the circuit's probe, which uses none of the retries.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from identity_project.eventbus import routing
from identity_project.eventbus.outbound.channel import SEND, SKIP, Channel, Defer, Outcome, RetryPolicy
from integration import selectors
from integration.circuit import CLOSED, HALF_OPEN, CircuitBreaker
from integration.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from integration.services.resume import WEBHOOK_CHANNEL, subscription_resume_schedule
from integration.services.sending import AttemptResult, post_signed
from integration.services.subscriptions import subscription_disable

HOLD = {"held": True}


class WebhookChannel(Channel):
    name = WEBHOOK_CHANNEL
    model = WebhookDelivery
    attempt_model = WebhookAttempt
    sent_status = WebhookDelivery.Status.DELIVERED
    # A receiver may be slow: deliveries go to send tasks (sender.SEND_CHUNK a task), never inline.
    send_inline = False
    # A delivery concluded (sent, retried, failed, skipped) waits behind nothing any more.
    released = {"held": False}

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=settings.WEBHOOK_MAX_RETRIES + 1,
            backoff_factor=settings.WEBHOOK_BACKOFF_FACTOR,
            backoff_max=settings.WEBHOOK_BACKOFF_MAX,
            deadline=settings.WEBHOOK_ATTEMPT_DEADLINE,
        )

    def queue(self, record: WebhookDelivery) -> str:
        return routing.INTEGRATION

    def claimable(self) -> Q:
        return Q(held=False)

    def related(self) -> tuple[str, ...]:
        return ("subscription",)

    def before(self, record: WebhookDelivery) -> str | Defer:
        if selectors.delivery_is_stale(record):
            return SKIP
        if record.held:
            return SEND  # taken by the resume, in order
        subscription = record.subscription
        breaker = CircuitBreaker(subscription.pk)
        waiting = WebhookDelivery.objects.filter(
            subscription=subscription, status=WebhookDelivery.Status.PENDING, held=True
        ).exists()
        if subscription.is_active and breaker.state() == CLOSED and not waiting:
            return SEND
        return Defer(HOLD, then=_resume_later(subscription) if subscription.is_active else None)

    def send(self, record: WebhookDelivery, *, deadline: float) -> Outcome:
        subscription = record.subscription
        probe = record.held and CircuitBreaker(subscription.pk).state() == HALF_OPEN
        result = post_signed(
            subscription=subscription, webhook_id=str(record.event_id), body=selectors.delivery_body(record)
        )
        return _judged(subscription, result, probe=probe)

    def describe(self, record: WebhookDelivery) -> str:
        return f"webhook to subscription {record.subscription_id}"


def _resume_later(subscription: WebhookSubscription):
    return partial(
        subscription_resume_schedule, subscription.pk, CircuitBreaker(subscription.pk).seconds_until_probe()
    )


def _judged(subscription: WebhookSubscription, result: AttemptResult, *, probe: bool) -> Outcome:
    """What the answer means for the delivery, told to the circuit breaker on the way."""
    breaker = CircuitBreaker(subscription.pk)
    answer = {
        "status_code": result.status_code,
        "response_body": result.response_body,
        "error": "" if result.ok else result.describe(),
    }
    if result.ok:
        breaker.record_success()
        WebhookSubscription.objects.filter(pk=subscription.pk).exclude(failing_since=None).update(
            failing_since=None
        )
        return Outcome(ok=True, **answer)
    if result.status_code == 410:
        # The receiver is gone: the subscription stops, and this delivery waits with the others
        # in case someone switches it on again.
        subscription_disable(subscription_id=subscription.pk, reason="the endpoint answered 410 Gone")
        return Outcome(ok=False, counted=False, defer=Defer(HOLD), **answer)
    opened = breaker.record_failure()
    _note_failure_streak(subscription)
    if probe:
        return Outcome(ok=False, counted=False, defer=Defer(HOLD), **answer)
    if opened:
        return Outcome(ok=False, defer=Defer(HOLD, then=_resume_later(subscription)), **answer)
    return Outcome(ok=False, **answer)


def _note_failure_streak(subscription: WebhookSubscription) -> None:
    """A subscription failing without a success for WEBHOOK_DISABLE_AFTER_DAYS is switched off."""
    now = timezone.now()
    if WebhookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(
        failing_since=now
    ):
        return
    failing_since = WebhookSubscription.objects.values_list("failing_since", flat=True).get(
        pk=subscription.pk
    )
    if failing_since and now - failing_since >= dt.timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        subscription_disable(
            subscription_id=subscription.pk,
            reason=f"failing without a success since {failing_since.isoformat()}",
        )


webhook = WebhookChannel()
