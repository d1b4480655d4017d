"""The audit consumer: every event of the catalog, stored in batches."""

from django.conf import settings
from django.utils import timezone

from audit.models import AuditEntry
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered

audit = Consumer("audit", queue=routing.AUDIT, batch_size=settings.EVENTBUS["BATCH_SIZE"])


@audit.handles_all
def store_entries(batch: list[Delivered]) -> None:
    """One bulk insert per batch; the consumer base has already dropped events seen before."""
    now = timezone.now()
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                event_id=d.event_id,
                type=d.envelope["type"],
                version=d.envelope["version"],
                source=d.envelope["source"],
                aggregate_type=d.envelope["aggregate_type"],
                aggregate_id=d.envelope["aggregate_id"],
                sequence=d.sequence,
                actor_type=d.envelope["actor"]["type"],
                actor_id=d.envelope["actor"].get("id") or "",
                correlation_id=d.correlation_id,
                causation_id=d.envelope["causation_id"],
                occurred_at=d.occurred_at,
                received_at=now,
                data=d.envelope["data"],
            )
            for d in batch
        ]
    )
