"""A per-event consumer applies a message's events in one transaction, and a failing event in it
stays that event's alone: the others are applied, it alone is retried or dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from identity_project.eventbus.context import SYSTEM
from identity_project.eventbus.envelope import build
from identity_project.eventbus.models import DeadLetter, DeliveryFailure, ProcessedEvent
from tests.probe.consumer import probe
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect

pytestmark = pytest.mark.django_db(transaction=True)


def envelope(probe_id: str, action: str = "ok") -> dict:
    return build(
        ProbeRequested(probe_id=probe_id, action=action),
        event_id=uuid.uuid4(),
        aggregate_id=probe_id,
        sequence=1,
        actor=SYSTEM,
        correlation_id=uuid.uuid4().hex,
        causation_id=None,
        occurred_at=datetime.now(UTC),
    )


def test_a_message_of_good_events_applies_each_once():
    # given a message of three events, one of them twice
    first, second, third = envelope("a"), envelope("b"), envelope("c")

    # when the consumer processes it
    to_retry = probe.process([first, second, third, first], attempt=0)

    # then each is applied and claimed once
    assert to_retry == []
    assert sorted(ProbeEffect.objects.values_list("probe_id", flat=True)) == ["a", "b", "c"]
    assert ProcessedEvent.objects.filter(consumer="probe").count() == 3


def test_a_failing_event_leaves_the_others_of_its_message_applied():
    # given a message whose middle events fail, one for good, one for now
    events = [
        envelope("a"),
        envelope("bad", "fail_permanent"),
        envelope("later", "fail_transient"),
        envelope("d"),
    ]
    events[2]["data"]["fail_times"] = 1

    # when the consumer processes it
    to_retry = probe.process(events, attempt=0)

    # then the good ones are applied and claimed, the permanent failure is dead-lettered (and
    # compensated) alone
    assert sorted(ProbeEffect.objects.values_list("probe_id", flat=True)) == ["a", "bad-compensated", "d"]
    assert set(ProcessedEvent.objects.filter(consumer="probe").values_list("event_id", flat=True)) == {
        uuid.UUID(events[0]["event_id"]),
        uuid.UUID(events[3]["event_id"]),
    }
    letters = DeadLetter.objects.filter(consumer="probe")
    assert [str(letter.event_id) for letter in letters] == [events[1]["event_id"]]
    # and only the transient one comes back for another attempt
    assert [failure.delivered.envelope["event_id"] for failure in to_retry] == [events[2]["event_id"]]
    assert DeliveryFailure.objects.filter(consumer="probe").count() == 2

    # when that one is tried again
    assert probe.process([events[2]], attempt=1) == []

    # then it is applied too, and nothing else twice
    assert sorted(ProbeEffect.objects.values_list("probe_id", flat=True)) == [
        "a",
        "bad-compensated",
        "d",
        "later",
    ]
