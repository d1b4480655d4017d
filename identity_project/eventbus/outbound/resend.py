"""Sending again: a send asked for again, the replay of a channel's dead letters, the sweep of
what a lost task left; and registering a channel, which registers that replay."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from identity_project.eventbus import deadletters
from identity_project.eventbus.outbound.channel import Channel, add, channels
from identity_project.eventbus.outbound.records import Status
from identity_project.eventbus.outbound.sender import schedule, send
from identity_project.eventbus.publisher import enqueue


def register(channel: Channel) -> Channel:
    """Known to the task and the sweep from now on, with the replay of its dead letters."""
    add(channel)
    deadletters.redriver(channel.name)(partial(redeliver_failed, channel))
    return channel


def redeliver(channel: Channel, record_ids: list[int]) -> int:
    """Send these records again with fresh retries; one in flight goes again once its attempt
    ends (never beside it). The send tasks leave through the outbox (this may run in a web
    request: the admin, the API); returns how many were re-armed."""
    records = channel.records().filter(pk__in=record_ids)
    with transaction.atomic():
        rearmed = list(records.exclude(status=Status.SENDING).select_for_update())
        channel.model.objects.filter(pk__in=[record.pk for record in rearmed]).update(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            last_error="",
            sent_at=None,
            **channel.released,
        )
        for record in rearmed:
            enqueue(send, channel.name, record.pk, queue=channel.queue(record))
        in_flight = records.filter(status=Status.SENDING).update(again=True)
    return len(rearmed) + in_flight


def redeliver_failed(channel: Channel, event_id: uuid.UUID) -> int:
    """The replay of a dead letter: the event's failed records go again."""
    failed = channel.records().filter(event_id=event_id, status=Status.FAILED)
    return redeliver(channel, list(failed.values_list("pk", flat=True)))


# --- the sweep -----------------------------------------------------------------------------

# Records one sweep hands to the send task, per channel.
SWEEP_BATCH = 500


def sweep() -> int:
    """Records whose task was lost (a broker outage, a worker killed mid-send) go to the send
    task again: pending ones overdue for a while, sending ones whose lease ended."""
    now = timezone.now()
    overdue = now - dt.timedelta(seconds=settings.EVENTBUS["OUTBOUND_SWEEP_AFTER"])
    swept = 0
    for channel in channels():
        lost = Q(status=Status.PENDING, next_attempt_at__lt=overdue)
        died = Q(status=Status.SENDING, lease_until__lt=now)
        stale = channel.records().filter(channel.claimable()).filter(lost | died)
        for record in stale.order_by("next_attempt_at")[:SWEEP_BATCH]:
            schedule(channel, record, 0)
            swept += 1
    return swept


@shared_task(name="eventbus.outbound.sweep", ignore_result=True)
def sweep_task() -> int:
    return sweep()
