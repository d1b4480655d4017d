"""`manage.py trace`: the story of one request, from the outbox while its events wait and from the
audit trail once they were sent (the relay deletes what it sent)."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from audit.models import AuditEntry
from identity.events import UserRegistered
from identity_project.eventbus.context import SYSTEM, event_context
from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import publish
from integration import signing
from integration.models import WebhookSubscription
from tests.probe.events import ProbeRequested
from tests.support.processes import start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def trace(correlation_id: str) -> list[str]:
    out = StringIO()
    call_command("trace", correlation_id, stdout=out)
    return out.getvalue().splitlines()


def test_a_story_is_told_while_its_events_wait_and_after_the_relay_sent_and_deleted_them(probe_id, log_dir):
    # given two events of one story, committed while no relay runs
    with event_context(correlation_id=f"story-{probe_id}", actor=SYSTEM), transaction.atomic():
        first = publish(ProbeRequested(probe_id=f"{probe_id}-1", action="ok"))
        second = publish(ProbeRequested(probe_id=f"{probe_id}-2", action="ok"))

    # then the story shows them waiting, each consumer still to come
    waiting = trace(f"story-{probe_id}")
    assert [line for line in waiting if "waiting in the outbox" in line] == [
        line for line in waiting if first["event_id"] in line or second["event_id"] in line
    ]
    assert len([line for line in waiting if "waiting in the outbox" in line]) == 2
    assert sum("audit" in line and "waiting" in line for line in waiting) == 2

    # when a worker and its relay take them
    worker = start_worker(log_dir)
    try:
        wait_for(lambda: AuditEntry.objects.count() == 2 and not OutboxEvent.objects.exists(), what="sent")
        wait_for(lambda: sum("handled" in line for line in trace(f"story-{probe_id}")) == 4, what="handled")
    finally:
        worker.stop()

    # then the same story is told from the audit trail: kept, and handled by audit and the probe
    told = trace(f"story-{probe_id}")
    kept = [line for line in told if "kept at" in line]
    assert [first["event_id"] in kept[0], second["event_id"] in kept[1]] == [True, True]
    assert sum(line.split()[:2] == ["audit", "handled"] for line in told) == 2
    assert sum(line.split()[:2] == ["probe", "handled"] for line in told) == 2


def registered(correlation_id: str) -> dict:
    with event_context(correlation_id=correlation_id, actor=SYSTEM), transaction.atomic():
        event = UserRegistered(user_id=uuid.uuid4(), email=f"{correlation_id}@example.com", method="self")
        return publish(event)


def consumers_told(correlation_id: str) -> list[str]:
    """The consumers the story names for its one event, with what each did."""
    return [" ".join(line.split()[:2]) for line in trace(correlation_id) if line.startswith("  ")]


def test_integration_is_told_of_an_event_only_if_a_subscription_wanted_it_when_it_committed(
    probe_id, log_dir
):
    # given a registration committed and sent while no webhook subscription wanted it
    worker = start_worker(log_dir, queues="audit,notification,integration")
    try:
        before = registered(f"before-{probe_id}")
        wait_for(lambda: AuditEntry.objects.filter(event_id=before["event_id"]).exists(), what="audited")

        # when a subscription to every event is created, and another registration commits after it
        WebhookSubscription.objects.create(
            url="https://hooks.example.test/in", event_types=["*"], secret=signing.secret_generate()
        )
        after = registered(f"after-{probe_id}")
        wait_for(lambda: "integration handled" in consumers_told(f"after-{probe_id}"), what="integration")
    finally:
        worker.stop()

    # then integration is in the story of the second only: the relay never sent it the first
    assert "integration handled" in consumers_told(f"after-{probe_id}"), after
    assert [told for told in consumers_told(f"before-{probe_id}") if told.startswith("integration")] == []
    assert "audit handled" in consumers_told(f"before-{probe_id}")
