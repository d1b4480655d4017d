"""What the probe handler did: one row per application of an event."""

from django.db import models

from identity_project.eventbus.outbound.records import OutboundAttempt, OutboundRecord


class ProbeEffect(models.Model):
    probe_id = models.CharField(max_length=64, db_index=True)
    event_id = models.UUIDField()
    attempt = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.probe_id} attempt {self.attempt}"


class Page(OutboundRecord):
    """A message for the probe's pager (tests/probe/outbound.py): the smallest outbound channel."""

    url = models.URLField()
    text = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.text


class PageAttempt(OutboundAttempt):
    record = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="attempts_made")
