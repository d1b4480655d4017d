"""A real worker's log: every JSON line about an event names it, its story, consumer and attempt."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from identity_project.eventbus.models import DeadLetter
from identity_project.eventbus.publisher import publish
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

KEYS = {"correlation_id", "event_id", "event_type", "consumer", "attempt"}


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def audit_batches(lines: list[dict]) -> list[dict]:
    return [
        line
        for line in lines
        if line["event"] == "consumer.batch_done" and line["consumer"] == "audit" and line["events"] > 1
    ]


def test_every_worker_line_about_an_event_carries_its_ids_consumer_and_attempt(worker, probe_id):
    # given events that succeed, fail once before they succeed, and fail for good; and two
    # events committed together (the relay sends what it finds waiting in one message to audit)
    with transaction.atomic():
        ok = publish(ProbeRequested(probe_id=f"{probe_id}-ok", action="ok"))
    with transaction.atomic():
        retried = publish(
            ProbeRequested(probe_id=f"{probe_id}-retried", action="fail_transient", fail_times=1)
        )
    with transaction.atomic():
        failed = publish(ProbeRequested(probe_id=f"{probe_id}-failed", action="fail_permanent"))
    with transaction.atomic():
        publish(ProbeRequested(probe_id=f"{probe_id}-pair-1", action="ok"))
        publish(ProbeRequested(probe_id=f"{probe_id}-pair-2", action="ok"))

    # when the worker has handled them all (audit and the probe)
    wait_for(lambda: ProbeEffect.objects.filter(probe_id__startswith=probe_id).count() == 5, timeout=60)
    wait_for(lambda: DeadLetter.objects.filter(event_id=failed["event_id"]).exists())
    wait_for(lambda: audit_batches(json_lines(worker.log())), what="a batch of several events for audit")
    worker.stop()
    lines = json_lines(worker.log())

    # then each line that names one of the events carries all the keys, with that event's values
    events = {e["event_id"]: e for e in (ok, retried, failed)}
    about = [line for line in lines if any(event_id in json.dumps(line) for event_id in events)]
    assert about
    for line in about:
        assert KEYS <= set(line), line
        event = events[line["event_id"]]
        assert (line["correlation_id"], line["event_type"]) == (event["correlation_id"], event["type"]), line
        assert line["consumer"] in {"audit", "probe"}, line
    # Celery's own outcome lines, the failure and the dead-lettering are among them
    retried_lines = [line for line in about if line["event_id"] == retried["event_id"]]
    assert {(line["consumer"], line["attempt"]) for line in retried_lines} >= {("probe", 0), ("probe", 1)}
    assert any(line["event"].startswith("Task probe.consume[") and "retry" in line["event"] for line in about)
    assert any(
        line["event"].startswith("Task probe.consume[") and "succeeded" in line["event"] for line in about
    )
    assert {"consumer.failed", "consumer.dead_lettered"} <= {line["event"] for line in about}
    # a batch's lines name no single event: nothing is left over from the message handled before
    [batch_done, *_] = audit_batches(lines)
    assert batch_done["attempt"] == 0
    assert not {"event_id", "event_type", "correlation_id"} & set(batch_done)
