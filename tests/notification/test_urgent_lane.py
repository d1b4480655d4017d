"""The urgent lane: an alert published behind a backlog of routine events does not wait for it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from identity.events import MFADeviceCreated, SuspiciousLoginDetected
from identity_project.celery import app as celery_app
from identity_project.eventbus import envelope as envelopes
from identity_project.eventbus.context import SYSTEM
from identity_project.eventbus.models import ProcessedEvent
from notification.consumer import notification
from tests.conftest import purge_queues
from tests.notification.conftest import NOTIFICATION_QUEUES, make_user, notification_env, publish_now
from tests.support.processes import start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]

BACKLOG = 10_000


def routine_envelope() -> dict:
    """A routine event for an account that is gone: handled (claimed, rules read) but mails nobody."""
    user_id = uuid.uuid4()
    return envelopes.build(
        MFADeviceCreated(user_id=user_id, device_id=uuid.uuid4().hex, method="totp"),
        event_id=uuid.uuid4(),
        aggregate_id=str(user_id),
        sequence=1,
        actor=SYSTEM,
        correlation_id="backlog",
        causation_id=None,
        occurred_at=timezone.now(),
    )


def test_an_urgent_alert_behind_10000_queued_routine_events_is_handled_before_the_backlog_drains(
    log_dir: Path, smtp_server
):
    # given 10,000 routine events queued while no worker runs
    purge_queues()
    erin = make_user("erin")
    backlog = [routine_envelope() for _ in range(BACKLOG)]
    with celery_app.producer_or_acquire() as producer:
        for envelope in backlog:
            notification.send([envelope], producer=producer)

    # and a suspicious login published behind them
    [urgent] = publish_now(
        SuspiciousLoginDetected(
            user_id=erin.pk, ip_address="198.51.100.23", risk_level="critical", risk_factors=[]
        )
    )

    # when a worker starts on both lanes
    worker = start_worker(log_dir, queues=NOTIFICATION_QUEUES, env=notification_env(smtp_server))
    try:
        wait_for(lambda: smtp_server.mailbox.to(erin.email, "suspicious"), timeout=60, what="the urgent mail")
        alert = ProcessedEvent.objects.get(consumer="notification", event_id=urgent["event_id"])
        routine_ids = {e["event_id"] for e in backlog}
        claimed_before = [
            str(event_id)
            for event_id in ProcessedEvent.objects.filter(
                consumer="notification", id__lt=alert.id
            ).values_list("event_id", flat=True)
        ]
    finally:
        worker.stop()
        purge_queues()

    # then the alert was handled (and mailed) while nearly all the backlog still waited
    routine_before = len(routine_ids.intersection(claimed_before))
    assert routine_before < BACKLOG // 10, routine_before
    assert len(smtp_server.mailbox.to(erin.email, "suspicious")) == 1
