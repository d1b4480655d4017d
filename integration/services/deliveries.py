"""Deliveries: recorded in the consumer's transaction, sent by tasks, held behind an open circuit
and resumed in order, redelivered on demand, swept when a message was lost."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from identity_project.eventbus import deadletters
from identity_project.eventbus.consumers import backoff
from identity_project.eventbus.envelope import Delivered
from identity_project.eventbus.models import DeadLetter
from integration import selectors
from integration.circuit import CLOSED, HALF_OPEN, CircuitBreaker, circuit_cache
from integration.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from integration.services.scheduling import (
    delivery_enqueue,
    resume_scheduled_key,
    subscription_resume_schedule,
)
from integration.services.sending import AttemptResult, post_signed
from integration.services.subscriptions import subscription_disable

log = structlog.get_logger(__name__)

# A delivery that spent its retries is dead-lettered under this name, not the consumer's:
# integration has applied the event (recorded its deliveries) and would skip it if it were sent
# again; replaying the letter sends the event's failed deliveries again (failed_redeliver).
DEAD_LETTER_CONSUMER = "integration.webhook"

# Held deliveries one resume task sends before it hands over to a fresh one.
RESUME_BATCH = 50


def deliveries_record(*, delivered: Delivered, subscriptions: list | None = None) -> int:
    """In the consumer's transaction: one delivery per matching active subscription (unique per
    subscription and event), each sent by a task after commit. `subscriptions`: the active ones,
    when the caller already read them (a batch)."""
    envelope = delivered.envelope
    created = []
    for subscription in selectors.subscriptions_for(envelope["type"], subscriptions):
        delivery, new = WebhookDelivery.objects.get_or_create(
            subscription=subscription,
            event_id=delivered.event_id,
            defaults={
                "event_type": envelope["type"],
                "aggregate_type": envelope["aggregate_type"],
                "aggregate_id": envelope["aggregate_id"],
                "sequence": envelope["sequence"],
                "occurred_at": delivered.occurred_at,
                "envelope": envelope,
            },
        )
        if new:
            created.append(delivery.pk)
    for delivery_id in created:
        transaction.on_commit(partial(delivery_enqueue, delivery_id, 0.0), robust=True)
    return len(created)


def _send(delivery: WebhookDelivery) -> AttemptResult:
    return post_signed(
        subscription=delivery.subscription,
        webhook_id=str(delivery.event_id),
        body=selectors.delivery_body(delivery),
    )


def _claim(delivery_id: int, *, held: bool) -> WebhookDelivery | None:
    """Take the delivery for one send; a duplicate or early message finds nothing to do."""
    now = timezone.now()
    candidates = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, held=held
    )
    if not held:
        candidates = candidates.filter(next_attempt_at__lte=now + dt.timedelta(seconds=2))
    lease = now + dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT + 30)
    if not candidates.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(lease_until=lease):
        return None
    return WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


def _lease_left(delivery_id: int) -> float | None:
    """Seconds until another attempt's lease on a pending delivery ends, or None. That attempt may
    have died with its worker (SIGKILL, a dropped database connection) and this message be its
    redelivery: looking again once the lease has ended sends the delivery without waiting for the
    sweep; if the other attempt lives, it has finished by then and the claim finds nothing to do."""
    now = timezone.now()
    lease_until = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, held=False, lease_until__gt=now
        )
        .values_list("lease_until", flat=True)
        .first()
    )
    return None if lease_until is None else (lease_until - now).total_seconds() + 1


def _save(delivery: WebhookDelivery, **changes) -> None:
    for name, value in changes.items():
        setattr(delivery, name, value)
    delivery.lease_until = None
    delivery.save()


def _note_failure_streak(subscription: WebhookSubscription, now: dt.datetime) -> None:
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


def _conclude(delivery: WebhookDelivery, result: AttemptResult, *, probe: bool) -> float | None:
    """Record the attempt and decide what follows; the seconds until a retry, or None."""
    subscription = delivery.subscription
    breaker = CircuitBreaker(subscription.pk)
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        response_body=result.response_body,
        error=result.error,
        counted=not probe,
    )
    log.info(
        "integration.attempt",
        subscription_id=str(subscription.pk),
        delivery_id=delivery.pk,
        event_id=str(delivery.event_id),
        correlation_id=delivery.envelope.get("correlation_id"),
        status_code=result.status_code,
        error=result.error,
        duration_ms=result.duration_ms,
        probe=probe,
    )
    if result.ok:
        breaker.record_success()
        WebhookSubscription.objects.filter(pk=subscription.pk).exclude(failing_since=None).update(
            failing_since=None
        )
        _save(delivery, status=WebhookDelivery.Status.DELIVERED, held=False, delivered_at=now, last_error="")
        return None
    if result.status_code == 410:
        # The receiver is gone: the subscription stops, and this delivery waits with the others
        # in case someone switches it on again.
        subscription_disable(subscription_id=subscription.pk, reason="the endpoint answered 410 Gone")
        _save(delivery, held=True, last_error=result.describe())
        return None
    opened = breaker.record_failure()
    _note_failure_streak(subscription, now)
    attempts = delivery.attempts + (0 if probe else 1)
    if probe or opened:
        _save(delivery, held=True, attempts=attempts, last_error=result.describe())
        return None
    if attempts > settings.WEBHOOK_MAX_RETRIES:
        _save(
            delivery,
            status=WebhookDelivery.Status.FAILED,
            held=False,
            attempts=attempts,
            last_error=result.describe(),
        )
        deadletters.store(
            consumer=DEAD_LETTER_CONSUMER,
            envelope=delivery.envelope,
            reason=DeadLetter.Reason.RETRIES_EXHAUSTED,
            error=f"webhook to subscription {subscription.pk} failed {attempts} times: {result.describe()}",
            traceback="",
            attempts=attempts,
        )
        return None
    countdown = backoff(
        attempts - 1, factor=settings.WEBHOOK_BACKOFF_FACTOR, maximum=settings.WEBHOOK_BACKOFF_MAX
    )
    _save(
        delivery,
        held=False,
        attempts=attempts,
        next_attempt_at=now + dt.timedelta(seconds=countdown),
        last_error=result.describe(),
    )
    return countdown


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Send one delivery, unless it must wait behind its circuit (or an inactive subscription, or
    deliveries already waiting: they go first). The seconds until a retry, or None."""
    delivery = _claim(delivery_id, held=False)
    if delivery is None:
        return _lease_left(delivery_id)
    subscription = delivery.subscription
    breaker = CircuitBreaker(subscription.pk)
    waiting = WebhookDelivery.objects.filter(
        subscription=subscription, status=WebhookDelivery.Status.PENDING, held=True
    ).exists()
    if not subscription.is_active or breaker.state() != CLOSED or waiting:
        _save(delivery, held=True)
        if subscription.is_active:
            subscription_resume_schedule(subscription.pk, breaker.seconds_until_probe())
        return None
    if selectors.delivery_is_stale(delivery):
        _save(delivery, status=WebhookDelivery.Status.SKIPPED)
        return None
    return _conclude(delivery, _send(delivery), probe=False)


def _resume_lock_key(subscription_id: uuid.UUID) -> str:
    return f"integration:resume_lock:{subscription_id}"


def subscription_resume(*, subscription_id: uuid.UUID) -> None:
    """Send the subscription's waiting deliveries in order: the first, while the circuit is
    half-open, is the probe; once it succeeds the circuit is closed and the rest follow."""
    circuit_cache().delete(resume_scheduled_key(subscription_id))
    lock = _resume_lock_key(subscription_id)
    if not circuit_cache().add(lock, 1, timeout=int(RESUME_BATCH * (settings.WEBHOOK_TIMEOUT + 5)) + 30):
        return
    try:
        follow_up = _drain(subscription_id)
    finally:
        circuit_cache().delete(lock)
    # Scheduled once the lock is released, so the next resume cannot find it still taken.
    if follow_up is not None:
        subscription_resume_schedule(subscription_id, follow_up, force=True)


def _drain(subscription_id: uuid.UUID) -> float | None:
    """Send waiting deliveries; the seconds until the next resume should run, or None when done."""
    breaker = CircuitBreaker(subscription_id)
    for _ in range(RESUME_BATCH):
        if not WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).exists():
            return None
        wait = breaker.seconds_until_probe()
        if wait > 0:
            return wait
        next_id = (
            WebhookDelivery.objects.filter(
                subscription_id=subscription_id, status=WebhookDelivery.Status.PENDING, held=True
            )
            .order_by("occurred_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        if next_id is None:
            return None
        delivery = _claim(next_id, held=True)
        if delivery is None:
            return 1.0
        if selectors.delivery_is_stale(delivery):
            _save(delivery, status=WebhookDelivery.Status.SKIPPED, held=False)
            continue
        probe = breaker.state() == HALF_OPEN
        countdown = _conclude(delivery, _send(delivery), probe=probe)
        if countdown is not None:
            delivery_enqueue(delivery.pk, countdown)
    return 0.0


_RESET = {"status": WebhookDelivery.Status.PENDING, "attempts": 0, "lease_until": None, "delivered_at": None}


def _send_again(delivery_ids: list[int]) -> None:
    """Pending again, with fresh retries and the same webhook-ids, each sent by a task after commit."""
    WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
        **_RESET, held=False, next_attempt_at=timezone.now()
    )
    for delivery_id in delivery_ids:
        transaction.on_commit(partial(delivery_enqueue, delivery_id, 0.0), robust=True)


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send it again, with fresh retries and the same webhook-id."""
    _send_again([delivery.pk])
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def failed_redeliver(*, event_id: uuid.UUID) -> int:
    """Send an event's failed deliveries again, to every subscription that gave up on it (the
    replay of its dead letter); returns how many."""
    failed = WebhookDelivery.objects.filter(event_id=event_id, status=WebhookDelivery.Status.FAILED)
    delivery_ids = list(failed.values_list("pk", flat=True))
    _send_again(delivery_ids)
    return len(delivery_ids)


@transaction.atomic
def subscription_replay(*, subscription: WebhookSubscription, since: dt.datetime) -> int:
    """Send again, in order, what this subscription was sent about events since `since`. It
    re-sends from integration's own delivery records (the audit trail belongs to another
    consumer), so a replay covers what the subscription was recorded for, not older events."""
    count = subscription.deliveries.filter(occurred_at__gte=since).update(
        **_RESET, held=True, next_attempt_at=timezone.now()
    )
    log.info(
        "integration.replay", subscription_id=str(subscription.pk), since=since.isoformat(), deliveries=count
    )
    transaction.on_commit(
        partial(subscription_resume_schedule, subscription.pk, 0.0, force=True), robust=True
    )
    return count


def deliveries_sweep() -> int:
    """Make up for lost messages: re-send deliveries overdue for a while, resume waiting ones."""
    now = timezone.now()
    overdue = now - dt.timedelta(seconds=max(30.0, 2 * settings.WEBHOOK_TIMEOUT))
    stuck = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            held=False,
            next_attempt_at__lt=overdue,
            subscription__is_active=True,
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .values_list("id", flat=True)[:1000]
    )
    for delivery_id in stuck:
        delivery_enqueue(delivery_id, 0.0)
    waiting = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, held=True, subscription__is_active=True
        )
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    for subscription_id in waiting:
        subscription_resume_schedule(subscription_id, CircuitBreaker(subscription_id).seconds_until_probe())
    return len(stuck)


def deliveries_purge(*, now: dt.datetime | None = None) -> int:
    """Forget finished deliveries (and their attempts) older than the retention, which is also
    how far back a replay can reach; pending ones are kept whatever their age."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookDelivery.Status.PENDING)
        .delete()
    )
    return deleted
