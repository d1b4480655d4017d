"""The integration consumer: every catalog event becomes a delivery for each subscription that wants it."""

import uuid

from django.conf import settings

from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from integration import selectors, services

# Subscriptions may select any type, so the consumer takes every event; it takes them in batches
# (as audit does), one message per batch instead of one per event, since most events match no
# subscription at all and cost only the lookup.
integration = Consumer("integration", queue=routing.INTEGRATION, batch_size=settings.EVENTBUS["BATCH_SIZE"])


@integration.handles_all
def record_deliveries(batch: list[Delivered]) -> None:
    active = selectors.active_subscriptions()
    for delivered in batch:
        services.deliveries_record(delivered=delivered, subscriptions=active)


@deadletters.redriver(services.DEAD_LETTER_CONSUMER)
def _resend_failed_webhooks(event_id: uuid.UUID) -> int:
    """The replay of a webhook's dead letter: the event's failed deliveries are sent again."""
    return services.failed_redeliver(event_id=event_id)
