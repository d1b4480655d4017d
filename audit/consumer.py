"""The audit consumer: every event of the catalog, stored in batches."""

import uuid

from django.conf import settings

from audit.models import AuditEntry
from audit.services.ingestion import entries_append
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from identity_project.eventbus.records import OwnRows

# The entries are audit's record of what it handled (records.py): one per event_id, and
# entries_append skips those stored, so a claim in ProcessedEvent would only repeat them.
audit = Consumer(
    "audit",
    queue=routing.AUDIT,
    batch_size=settings.EVENTBUS["BATCH_SIZE"],
    record=OwnRows(AuditEntry, handled_at="received_at"),
)


@audit.handles_all
def store_entries(batch: list[Delivered]) -> set[uuid.UUID]:
    """One bulk insert per batch, of the envelopes as they were published (an older version stays
    that version in the trail); events stored before are skipped there. Returns the ids stored."""
    return entries_append(envelopes=[delivered.published for delivered in batch])
