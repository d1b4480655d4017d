"""The audit consumer: every event of the catalog, stored in batches."""

from django.conf import settings

from audit.services.ingestion import entries_append
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered

audit = Consumer("audit", queue=routing.AUDIT, batch_size=settings.EVENTBUS["BATCH_SIZE"])


@audit.handles_all
def store_entries(batch: list[Delivered]) -> None:
    """One bulk insert per batch, of the envelopes as they were published (an older version stays
    that version in the trail); the consumer base has already dropped events seen before."""
    entries_append(envelopes=[delivered.published for delivered in batch])
