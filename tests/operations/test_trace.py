"""`manage.py trace`: the story of one request, from the outbox while its events wait and from the
audit trail once they were sent (the relay deletes what it sent)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from audit.models import AuditEntry
from identity_project.eventbus.context import SYSTEM, event_context
from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import publish
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
