"""The integration consumer: every catalog event becomes a delivery for each subscription that wants it."""

from django.conf import settings

from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from integration import selectors, services

# Subscriptions may select any type, so the consumer can take every event; the relay sends it only
# the types an active subscription selects when it sends them (types_wanted, read once per round),
# so a platform without webhooks spends nothing on them. Its events come in batches (as audit's),
# one message per batch instead of one per event.
integration = Consumer(
    "integration",
    queue=routing.INTEGRATION,
    batch_size=settings.EVENTBUS["BATCH_SIZE"],
    wanted=selectors.types_wanted,
)


@integration.handles_all
def record_deliveries(batch: list[Delivered]) -> None:
    services.deliveries_record(batch)
