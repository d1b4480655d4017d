"""The integration consumer: every catalog event becomes a delivery for each subscription that wants it."""

from identity.events import CATALOG
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from integration import services

integration = Consumer("integration", queue=routing.INTEGRATION)


# Subscriptions may select any type, so the consumer takes them all and filters per subscription.
@integration.handles(*CATALOG)
def record_deliveries(delivered: Delivered) -> None:
    services.deliveries_record(delivered=delivered)
