"""The compliance feed's daily summary to SIEM subscriptions."""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from django.db.models import Count
from django.utils import timezone

from integration import selectors
from integration.models import WebhookSubscription
from integration.services.sending import post_signed

log = structlog.get_logger(__name__)


def siem_daily_summary(*, now: dt.datetime | None = None) -> int:
    """Post each SIEM subscription a signed count, by type, of its compliance feed over the last
    day. Best effort, once a day: the events themselves were delivered one by one, a failed
    summary is logged. Returns how many summaries were accepted."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=1)
    accepted = 0
    for subscription in WebhookSubscription.objects.filter(is_siem=True, is_active=True):
        counts = dict(
            subscription.deliveries.filter(
                event_type__in=selectors.SIEM_EVENT_TYPES, occurred_at__gte=since, occurred_at__lt=now
            )
            .values_list("event_type")
            .annotate(count=Count("id"))
        )
        result = post_signed(
            subscription=subscription,
            # One id per subscription and day: a receiver can drop a summary it already has.
            webhook_id=str(uuid.uuid5(subscription.pk, f"siem-summary-{now.date().isoformat()}")),
            body=selectors.siem_summary_body(since=since, until=now, counts=counts),
        )
        log.info(
            "integration.siem_summary",
            subscription_id=str(subscription.pk),
            status_code=result.status_code,
            error=result.error,
        )
        accepted += result.ok
    return accepted
