"""The way of one event, end to end: outbox, broker (RabbitMQ), a real worker process, consumers."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest
from django.db import transaction

from audit.models import AuditEntry
from identity_project.eventbus import deadletters, redelivery
from identity_project.eventbus.models import DeadLetter, DeliveryFailure, OutboxEvent, ProcessedEvent
from identity_project.eventbus.publisher import publish
from operations import pipeline, timeline
from tests.probe.consumer import probe
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def publish_probe(probe_id: str, action: str = "ok", markers: Path | None = None, **fields) -> dict:
    with transaction.atomic():
        return publish(
            ProbeRequested(probe_id=probe_id, action=action, marker_dir=str(markers or ""), **fields)
        )


def attempts(markers: Path) -> list[tuple[int, float]]:
    """(attempt, time) of each handler run, from the files the probe leaves."""
    runs = []
    for path in markers.glob("attempt-*"):
        _, attempt, at, _pid = path.name.split("-")
        runs.append((int(attempt), float(at)))
    return sorted(runs)


def effects(probe_id: str) -> int:
    return ProbeEffect.objects.filter(probe_id=probe_id).count()


def test_a_rolled_back_transaction_publishes_nothing_and_a_committed_one_one_audit_row(worker, probe_id):
    # given a transaction that publishes and then rolls back
    with transaction.atomic():
        publish(ProbeRequested(probe_id=f"{probe_id}-rolled-back", action="ok"))
        transaction.set_rollback(True)

    # when another one commits
    envelope = publish_probe(probe_id)

    # then only the committed event exists, and it is audited exactly once
    wait_for(lambda: AuditEntry.objects.filter(event_id=envelope["event_id"]).exists(), what="audit row")
    assert AuditEntry.objects.count() == 1
    entry = AuditEntry.objects.get()
    assert (entry.type, entry.sequence, entry.aggregate_id) == ("tests.probe.requested", 1, probe_id)
    wait_for(lambda: not OutboxEvent.objects.exists(), what="the relay to delete the row it sent")


def test_a_publish_outside_any_transaction_is_one_of_its_own_numbered_and_audited(worker, probe_id):
    # given no transaction open
    # when two events of one aggregate are published on their own
    first = publish(ProbeRequested(probe_id=probe_id, action="ok"))
    second = publish(ProbeRequested(probe_id=probe_id, action="ok"))

    # then each was committed by itself, numbered after the last, and reaches audit
    wait_for(lambda: AuditEntry.objects.count() == 2, what="two audit rows")
    assert (first["sequence"], second["sequence"]) == (1, 2)
    assert list(AuditEntry.objects.order_by("sequence").values_list("event_id", "sequence")) == [
        (uuid.UUID(first["event_id"]), 1),
        (uuid.UUID(second["event_id"]), 2),
    ]


def test_the_pipeline_tells_each_consumers_latency_once_the_relay_deleted_what_it_sent(worker, probe_id):
    # given an event handled by audit and the probe, its outbox row deleted by the relay
    envelope = publish_probe(probe_id)
    wait_for(lambda: ProbeEffect.objects.filter(probe_id=probe_id).exists(), what="the probe's effect")
    wait_for(lambda: not OutboxEvent.objects.exists(), what="the relay to delete the row it sent")
    wait_for(lambda: AuditEntry.objects.exists(), what="audit's entry, its record of the event")

    # when the pipeline is looked at
    view = pipeline.snapshot()
    hour = timeline.last_hour(["audit", "probe"])

    # then each consumer's latency is told, from the event's time to its handling
    for consumer in ("audit", "probe"):
        latency = view["consumers"][consumer]["latency_ms"]
        assert latency["p50"] is not None, consumer
        assert 0 <= latency["p50"] < 60_000, (consumer, latency)
    assert hour.latency_ms["p50"][-1] is not None or hour.latency_ms["p50"][-2] is not None
    assert ProcessedEvent.objects.get(consumer="probe", event_id=envelope["event_id"]).occurred_at is not None


def test_a_worker_killed_in_the_middle_of_a_handler_gets_the_event_redelivered_and_applied_once(
    worker, markers, probe_id
):
    # given a handler that hangs on its first attempt
    publish_probe(probe_id, "hang_once", markers)
    hung = markers / "hung"
    wait_for(hung.exists, what="the handler to start")

    # when its worker process is killed with SIGKILL
    os.kill(int(hung.read_text()), signal.SIGKILL)

    # then the message is redelivered and the effect happens once
    wait_for(lambda: effects(probe_id) == 1, timeout=60, what="the redelivered event to apply")
    assert len(attempts(markers)) == 2
    assert effects(probe_id) == 1


def test_the_same_message_delivered_twice_has_one_effect(worker, probe_id):
    # given an event that was delivered and applied
    envelope = publish_probe(probe_id)
    wait_for(lambda: effects(probe_id) == 1, what="first delivery")

    # when the very same envelope arrives again, twice
    probe.task.apply_async(args=([envelope],), queue="probe")
    probe.task.apply_async(args=([envelope, envelope],), queue="probe")
    marker = publish_probe(f"{probe_id}-after")
    wait_for(lambda: effects(f"{probe_id}-after") == 1, what="a later event, behind the duplicates")

    # then nothing more happened
    assert marker["event_id"] != envelope["event_id"]
    assert effects(probe_id) == 1
    assert ProcessedEvent.objects.filter(consumer="probe", event_id=envelope["event_id"]).count() == 1


def test_a_transient_failure_is_retried_with_growing_delays_and_applied_once(worker, markers, probe_id):
    # given a handler that fails twice, then succeeds
    publish_probe(probe_id, "fail_transient", markers, fail_times=2)

    # when the consumer retries
    wait_for(lambda: effects(probe_id) == 1, timeout=60, what="the third attempt to succeed")

    # then it ran three times, each wait longer than the one before, and applied once
    runs = attempts(markers)
    assert [attempt for attempt, _ in runs] == [0, 1, 2]
    first_wait, second_wait = runs[1][1] - runs[0][1], runs[2][1] - runs[1][1]
    assert 1.0 <= first_wait < second_wait, (first_wait, second_wait)
    assert DeliveryFailure.objects.filter(consumer="probe").count() == 2
    assert not DeadLetter.objects.exists()


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param({"version": 9}, id="unknown-version"),
        pytest.param({"type": "tests.probe.unheard_of"}, id="unknown-type"),
        pytest.param({"data": {"probe_id": 12, "action": "ok"}}, id="schema-invalid"),
    ],
)
def test_an_invalid_event_is_dead_lettered_at_once_without_retries(worker, probe_id, breakage):
    # given a valid envelope, broken after publishing
    envelope = {**publish_probe(f"{probe_id}-valid"), "event_id": str(uuid.uuid4()), **breakage}

    # when it is delivered
    probe.task.apply_async(args=([envelope],), queue="probe")

    # then it is dead-lettered on its first attempt
    letter = wait_for(
        lambda: DeadLetter.objects.filter(event_id=envelope["event_id"]).first(), what="the dead letter"
    )
    assert (letter.consumer, letter.reason, letter.attempts) == ("probe", "permanent", 1)
    assert letter.envelope == envelope
    assert not DeliveryFailure.objects.filter(event_id=envelope["event_id"]).exists()


def test_exhausted_retries_dead_letter_the_event_and_replay_applies_it_once(worker, markers, probe_id):
    # given a handler that keeps failing while a marker says it is broken
    (markers / "broken").touch()
    envelope = publish_probe(probe_id, "fail_while_marker", markers)

    # when its retries (3) are spent
    letter = wait_for(
        lambda: DeadLetter.objects.filter(event_id=envelope["event_id"]).first(),
        timeout=60,
        what="the dead letter",
    )

    # then the dead letter keeps the envelope, the error, the traceback and the attempts
    assert (letter.consumer, letter.reason, letter.attempts) == ("probe", "retries_exhausted", 4)
    assert "probe is broken" in letter.error
    assert "TransientError" in letter.traceback
    assert letter.envelope == envelope
    assert effects(probe_id) == 0

    # when the cause is fixed and the dead letter replayed twice
    (markers / "broken").unlink()
    deadletters.replay(letter)
    wait_for(lambda: effects(probe_id) == 1, what="the replay to apply")
    letter.refresh_from_db()
    deadletters.replay(letter)
    after = publish_probe(f"{probe_id}-after")
    wait_for(lambda: effects(f"{probe_id}-after") == 1, what="a later event")

    # then it was applied exactly once
    assert after["event_id"]
    assert effects(probe_id) == 1
    letter.refresh_from_db()
    assert (letter.status, letter.replay_count) == ("replayed", 2)


def test_a_permanent_error_is_dead_lettered_compensated_and_discarded(worker, markers, probe_id):
    envelope = publish_probe(probe_id, "fail_permanent", markers)

    letter = wait_for(
        lambda: DeadLetter.objects.filter(event_id=envelope["event_id"]).first(), what="dead letter"
    )
    assert (letter.reason, letter.attempts) == ("permanent", 1)
    assert len(attempts(markers)) == 1
    wait_for(lambda: effects(f"{probe_id}-compensated") == 1, what="the handler's compensation")

    deadletters.discard(letter)

    assert not DeadLetter.objects.filter(status="pending").exists()
    with pytest.raises(deadletters.DeadLetterError):
        deadletters.replay(letter)


def test_a_message_that_kills_its_worker_every_time_is_dead_lettered_and_the_queue_keeps_flowing(
    worker, markers, probe_id
):
    # given an event whose handler kills its worker process every time
    poison = publish_probe(f"{probe_id}-poison", "kill_always", markers)

    # when the delivery limit (3 in the tests) is passed: RabbitMQ's own, whose dead-letter queue
    # is drained; on Redis, which has none, the consumer's count of deliveries (redelivery.py)
    def drained() -> bool:
        deadletters.drain_dead_letter_queues()
        return DeadLetter.objects.filter(event_id=poison["event_id"]).exists()

    wait_for(drained, timeout=120, interval=1.0, what="the poison message in the dead-letter store")

    # then it is a dead letter, and events after it are still applied
    letter = DeadLetter.objects.get(event_id=poison["event_id"])
    assert (letter.consumer, letter.reason) == ("probe", "delivery_limit")
    assert len(attempts(markers)) >= 4
    if redelivery.counted_here():
        assert len(attempts(markers)) == 4
        assert "delivered 5 times" in letter.error
    publish_probe(f"{probe_id}-next")
    wait_for(lambda: effects(f"{probe_id}-next") == 1, timeout=60, what="the next event")
    assert worker.popen.poll() is None


def test_a_batch_with_one_poisoned_event_stores_the_others_and_dead_letters_that_one(worker, probe_id):
    # given ten events for audit, one of which its table cannot take (aggregate id too long)
    envelopes = [publish_probe(f"{probe_id}-{i}") for i in range(10)]
    wait_for(lambda: AuditEntry.objects.count() == 10, what="the published events to be audited")
    fresh = [{**e, "event_id": str(uuid.uuid4())} for e in envelopes]
    fresh[6] = {**fresh[6], "aggregate_id": "x" * 100}

    # when they arrive as one batch
    from audit.consumer import audit

    audit.task.apply_async(args=(fresh,), queue="audit")

    # then nine are stored and the poisoned one is dead-lettered
    wait_for(lambda: AuditEntry.objects.count() == 19, timeout=60, what="the nine good events")
    letter = wait_for(
        lambda: DeadLetter.objects.filter(consumer="audit").first(), timeout=60, what="dead letter"
    )
    assert str(letter.event_id) == fresh[6]["event_id"]
    assert not AuditEntry.objects.filter(event_id=fresh[6]["event_id"]).exists()
