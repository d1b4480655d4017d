"""The integration consumer: every catalog event becomes a delivery for each subscription that wants it."""

from django.conf import settings

from identity_project.eventbus import routing
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
