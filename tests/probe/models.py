"""What the probe handler did: one row per application of an event."""

from django.db import models


class ProbeEffect(models.Model):
    probe_id = models.CharField(max_length=64, db_index=True)
    event_id = models.UUIDField()
    attempt = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.probe_id} attempt {self.attempt}"
