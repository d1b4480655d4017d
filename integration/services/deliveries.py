"""Webhook deliveries: recorded in the consumer's transaction and sent through the outbound
mechanism (services/channel.py says what is a webhook's own); held behind an open circuit and
resumed in order (resume.py); sent again on demand; replayed from integration's own records.

A delivery that spent its retries is dead-lettered as "integration.webhook", not under the
consumer's name: integration has applied the event (recorded its deliveries) and would skip it
if it were sent again; replaying the letter sends the event's failed deliveries again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity_project.eventbus.envelope import Delivered
from identity_project.eventbus.outbound import resend, sender
from identity_project.eventbus.outbound.records import Status
from integration import selectors
from integration.circuit import CircuitBreaker
from integration.models import WebhookDelivery, WebhookSubscription
from integration.services.channel import webhook
from integration.services.resume import subscription_resume_schedule

log = structlog.get_logger(__name__)

DEAD_LETTER_CONSUMER = webhook.name


def deliveries_record(batch: Sequence[Delivered]) -> None:
    """In the consumer's transaction: one delivery per event and matching active subscription,
    written in one INSERT (unique per subscription and event: what a redelivered message
    recorded already stays as it is), then every pending one of these events given to send tasks
    after commit."""
    active = selectors.active_subscriptions()
    rows = [
        WebhookDelivery(
            subscription=subscription,
            event_id=delivered.event_id,
            event_type=delivered.envelope["type"],
            aggregate_type=delivered.envelope["aggregate_type"],
            aggregate_id=delivered.envelope["aggregate_id"],
            sequence=delivered.envelope["sequence"],
            occurred_at=delivered.occurred_at,
            envelope=delivered.envelope,
        )
        for delivered in batch
        for subscription in selectors.subscriptions_for(delivered.envelope["type"], active)
    ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        sender.send_after_commit(webhook, event_id__in={row.event_id for row in rows})


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send it again, with fresh retries and the same webhook-id; one in flight goes again once
    its attempt ends, never beside it."""
    resend.redeliver(webhook, [delivery.pk])
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def subscription_replay(*, subscription: WebhookSubscription, since: dt.datetime) -> int:
    """Send again, in order, what this subscription was sent about events since `since`. It
    re-sends from integration's own delivery records (the audit trail belongs to another
    consumer), so a replay covers what the subscription was recorded for, not older events. A
    delivery in flight goes again once its attempt ends."""
    chosen = subscription.deliveries.filter(occurred_at__gte=since)
    count = chosen.exclude(status=Status.SENDING).update(
        status=Status.PENDING, attempts=0, held=True, next_attempt_at=timezone.now(), sent_at=None
    )
    count += chosen.filter(status=Status.SENDING).update(again=True)
    log.info(
        "integration.replay", subscription_id=str(subscription.pk), since=since.isoformat(), deliveries=count
    )
    transaction.on_commit(
        partial(subscription_resume_schedule, subscription.pk, 0.0, force=True), robust=True
    )
    return count


def deliveries_sweep() -> int:
    """Resume the subscriptions whose held deliveries wait (a lost resume task); the outbound
    sweep sends again what else a lost message left. Returns how many subscriptions."""
    waiting = (
        WebhookDelivery.objects.filter(status=Status.PENDING, held=True, subscription__is_active=True)
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    resumed = 0
    for subscription_id in waiting:
        subscription_resume_schedule(subscription_id, CircuitBreaker(subscription_id).seconds_until_probe())
        resumed += 1
    return resumed


def deliveries_purge(*, now: dt.datetime | None = None) -> int:
    """Forget finished deliveries (and their attempts) older than the retention, which is also
    how far back a replay can reach; pending ones are kept whatever their age."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status__in=[Status.PENDING, Status.SENDING])
        .delete()
    )
    return deleted
