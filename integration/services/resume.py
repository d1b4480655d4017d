"""Resuming a subscription: its held deliveries sent in order, oldest first, by the resume task,
the first of them as the circuit's probe (which uses none of the retries); at most one resume
task waits per subscription.

The webhook channel holds deliveries and schedules resumes, so it imports this module; this one
finds the channel by its name among the outbound mechanism's registered channels rather than
importing it back.
"""

from __future__ import annotations

import uuid

from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db.models import Q
from redis.exceptions import RedisError

from identity_project.eventbus import routing
from identity_project.eventbus.errors import DATABASE_UNAVAILABLE
from identity_project.eventbus.outbound import sender
from identity_project.eventbus.outbound.channel import channel_named
from identity_project.eventbus.outbound.records import Status
from identity_project.eventbus.retries import backoff
from integration.circuit import CircuitBreaker, circuit_cache
from integration.models import WebhookDelivery, WebhookSubscription

# The webhook channel's name (channel.py), which is also its dead letters' consumer.
WEBHOOK_CHANNEL = "integration.webhook"

# Held deliveries one resume task sends before it hands over to a fresh one.
RESUME_BATCH = 50

HELD = Q(held=True)

# The database or the circuits' cache unreachable: no fault of the delivery, try again later.
INFRASTRUCTURE_ERRORS = (*DATABASE_UNAVAILABLE, RedisError)


def resume_scheduled_key(subscription_id: uuid.UUID) -> str:
    return f"integration:resume_scheduled:{subscription_id}"


def _resume_lock_key(subscription_id: uuid.UUID) -> str:
    return f"integration:resume_lock:{subscription_id}"


def subscription_resume_schedule(
    subscription_id: uuid.UUID, countdown: float, *, force: bool = False
) -> None:
    """At most one resume task waiting per subscription (the sweep makes up for a lost one)."""
    if force or circuit_cache().add(resume_scheduled_key(subscription_id), 1, timeout=int(countdown) + 10):
        resume.apply_async(
            queue=routing.INTEGRATION,
            args=(str(subscription_id),),
            countdown=max(1, round(countdown)) if countdown else None,
        )


def subscription_resume(*, subscription_id: uuid.UUID) -> None:
    """Send the subscription's waiting deliveries in order: the first, while the circuit is
    half-open, is the probe; once it succeeds the circuit is closed and the rest follow."""
    circuit_cache().delete(resume_scheduled_key(subscription_id))
    lock = _resume_lock_key(subscription_id)
    lease = channel_named(WEBHOOK_CHANNEL).policy().lease
    if not circuit_cache().add(lock, 1, timeout=int(RESUME_BATCH * lease) + 30):
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
    webhook = channel_named(WEBHOOK_CHANNEL)
    breaker = CircuitBreaker(subscription_id)
    for _ in range(RESUME_BATCH):
        if not WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).exists():
            return None
        wait = breaker.seconds_until_probe()
        if wait > 0:
            return wait
        next_id = (
            WebhookDelivery.objects.filter(subscription_id=subscription_id, status=Status.PENDING, held=True)
            .order_by("occurred_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        if next_id is None:
            return None
        if isinstance(sender.attempt(webhook, next_id, claimable=HELD), float):
            return 1.0  # another attempt holds it: look again shortly
    return 0.0


def _retry_later(task: Task, exc: Exception) -> Retry:
    """A retry on the integration queue (Celery would route it by the default queue otherwise)."""
    countdown = backoff(
        task.request.retries, factor=settings.WEBHOOK_BACKOFF_FACTOR, maximum=settings.WEBHOOK_BACKOFF_MAX
    )
    return task.retry(exc=exc, countdown=countdown, queue=routing.INTEGRATION)


@shared_task(
    name="integration.resume",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def resume(task: Task, subscription_id: str) -> None:
    try:
        subscription_resume(subscription_id=uuid.UUID(subscription_id))
    except INFRASTRUCTURE_ERRORS as exc:
        raise _retry_later(task, exc) from exc
