"""A worker whose PostgreSQL is unreachable for longer than its retries loses nothing (issue #18).

While the database is down a consumer can record neither a failure nor a dead letter. Such a
message must come back until its outcome can be recorded, on RabbitMQ and on Redis (where a
rejected message is deleted), without spending its events' retries; a handler that fails while
the database is fine still spends them and is dead-lettered.

The worker reaches PostgreSQL through a TCP proxy the test cuts (the shared server keeps
running); its relay does not, so it keeps sending while the worker is cut off, and deletes what
it sent from the outbox, as in production.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from audit.models import AuditEntry
from identity_project.eventbus.models import DeadLetter, DeliveryFailure, OutboxEvent, ProcessedEvent
from identity_project.eventbus.publisher import publish
from tests.conftest import purge_queues
from tests.probe.consumer import probe
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import Process, database_url, service_env, start_relay, start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# Short retries, so that an outage of seconds outlasts them; audit's budget (2) and the probe's (3).
OUTAGE_ENV = {"EVENTBUS_MAX_RETRIES": "2", "EVENTBUS_BACKOFF_MAX": "2"}
BUDGETS = {"audit": 2, "probe": probe.max_retries}


def sent_back_or_rejected(log: str, consumer: str) -> bool:
    """Whether one of the consumer's messages came back more often than its event retries allow,
    or was given up (raised out of the task, so rejected): the outage outlasted its retries."""
    task = re.escape(f"{consumer}.consume")
    sent_back = Counter(re.findall(rf"Task {task}\[([0-9a-f-]+)\] retry:", log))
    given_up = re.search(rf"Task {task}\[[0-9a-f-]+\] raised unexpected", log)
    return given_up is not None or any(count > BUDGETS[consumer] for count in sent_back.values())


def handler_runs(markers: Path) -> list[int]:
    """The attempt of each run of the probe's handler (each leaves a file, outside any transaction)."""
    return sorted(int(path.name.split("-")[1]) for path in markers.glob("attempt-*"))


@pytest.fixture
def cut_off_worker(postgresql_proxy, log_dir):
    """A worker on audit and the probe whose database connections go through the proxy, and a
    relay that reaches PostgreSQL directly."""
    purge_queues()
    env = service_env(**OUTAGE_ENV, DATABASE_URL=database_url(host="127.0.0.1", port=postgresql_proxy.port))
    worker = start_worker(log_dir, env=env, relay=False)
    relay: Process = start_relay(log_dir, env=service_env(**OUTAGE_ENV))
    yield worker
    relay.stop()
    worker.stop()


def test_events_consumed_while_postgresql_is_unreachable_for_longer_than_the_retries_are_applied_once(
    cut_off_worker, postgresql_proxy, markers, probe_id
):
    # given the worker cut off from PostgreSQL, and events committed meanwhile (the relay sends
    # them and deletes them from the outbox): good ones, and one whose handler always fails
    postgresql_proxy.cut()
    good = []
    for i in range(5):
        with transaction.atomic():
            good.append(publish(ProbeRequested(probe_id=f"{probe_id}-{i}", action="ok")))
    with transaction.atomic():
        poison = publish(
            ProbeRequested(
                probe_id=f"{probe_id}-poison", action="fail_transient", fail_times=99, marker_dir=str(markers)
            )
        )
    wait_for(lambda: not OutboxEvent.objects.exists(), what="the relay to send the events")

    # when the outage lasts longer than both consumers' retries, and then ends
    wait_for(
        lambda: all(sent_back_or_rejected(cut_off_worker.log(), consumer) for consumer in BUDGETS),
        timeout=120,
        interval=0.5,
        what="the outage to outlast the retries",
    )
    postgresql_proxy.restore()

    # then every event is applied exactly once by audit and the probe
    events = [e["event_id"] for e in [*good, poison]]
    good_probes = [e["aggregate_id"] for e in good]
    wait_for(
        lambda: AuditEntry.objects.filter(event_id__in=events).count() == len(events),
        timeout=90,
        what="every event audited",
    )
    wait_for(
        lambda: ProbeEffect.objects.filter(probe_id__in=good_probes).count() == len(good),
        timeout=90,
        what="every good event applied by the probe",
    )
    for event_id in events:
        assert AuditEntry.objects.filter(event_id=event_id).count() == 1
    assert ProcessedEvent.objects.filter(consumer="probe", event_id__in=events).count() == len(good)
    # and the outage spent none of their retries: an attempt is counted only with a failure recorded
    for effect in ProbeEffect.objects.filter(event_id__in=[e["event_id"] for e in good]):
        assert effect.attempt == DeliveryFailure.objects.filter(event_id=effect.event_id).count()

    # and the failing handler, once the database is back, ran on each of its attempts and was
    # dead-lettered after the last, as when nothing went wrong
    letter = wait_for(
        lambda: DeadLetter.objects.filter(consumer="probe", event_id=poison["event_id"]).first(),
        timeout=90,
        what="the failing event's dead letter",
    )
    assert (letter.reason, letter.attempts) == ("retries_exhausted", probe.max_retries + 1)
    assert handler_runs(markers) == list(range(probe.max_retries + 1))
    assert DeadLetter.objects.count() == 1
