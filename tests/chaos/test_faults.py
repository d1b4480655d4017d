"""Fault injection under a burst of events: each scenario runs real sign-ins and bulk events,
injects its fault mid-burst, heals it, waits for the pipeline to drain and reconciles (reconcile.py).

    make chaos        10,000 events per burst, the table of every scenario at the end
    CHAOS_EVENTS=N    another size (CI runs 1,000)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid

import pytest
from django.db import connection, transaction

from audit.consumer import audit
from identity_project.celery import app as celery_app
from identity_project.eventbus import consumer_registry, routing
from identity_project.eventbus.models import DeadLetter
from identity_project.eventbus.publisher import publish
from integration.models import WebhookAttempt
from tests.chaos.conftest import (
    CHAOS_EVENTS,
    CHAOS_LOGINS,
    CHAOS_PG_OUTAGE,
    DRAIN_TIMEOUT,
    PIPELINE_CONNECTIONS,
    Pipeline,
)
from tests.chaos.load import Burst, register_users
from tests.chaos.reconcile import settle
from tests.probe.events import ProbeRequested
from tests.support import ledger
from tests.support.processes import database_url, wait_for
from tests.support.rabbitmq_node import RabbitMQNode

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


def test_worker_processes_killed_with_sigkill_again_and_again(pipeline, receiver, users):
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()

    # a pool process at every tenth of the burst, and once the whole worker, restarted after
    for step in range(1, 10):
        burst.wait_until(step / 10)
        worker = pipeline.workers[-1]
        if step == 5:
            Pipeline.kill(worker)
            pipeline.start_worker()
        elif children := worker.children():
            with contextlib.suppress(ProcessLookupError):  # a pool process that ended meanwhile
                os.kill(children[0], signal.SIGKILL)
    burst.finish()

    result = settle("worker SIGKILL", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    assert result.audited == result.committed


@pytest.mark.rabbitmq_only
def test_rabbitmq_stopped_and_restarted_during_the_burst(transactional_db, log_dir, receiver):
    # given a private RabbitMQ node (the shared one serves other runs) carrying the pipeline; this
    # process only commits, the relay alone takes events to that node
    node = RabbitMQNode()
    running = Pipeline(log_dir, CELERY_BROKER_URL=node.url)
    try:
        node.start()
        running.start_worker()
        running.start_relay()
        burst = Burst(events=CHAOS_EVENTS, users=register_users(CHAOS_LOGINS))
        burst.start()

        # when the node stops at a third of the burst and comes back at two thirds
        burst.wait_until(1 / 3)
        node.stop()
        burst.wait_until(2 / 3)
        wait_for(lambda: "relay.failed" in running.relays[0].log(), timeout=60, what="the relay to fail")
        node.start()
        burst.finish()

        # then everything arrives
        settle("RabbitMQ stop/start", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    finally:
        running.stop()
        node.remove()


def _terminate_pipeline_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(pg_terminate_backend(pid)) FROM ({PIPELINE_CONNECTIONS}) pipeline")
        return cursor.fetchone()[0]


def test_postgresql_connections_of_the_pipeline_dropped_during_the_burst(pipeline, receiver, users):
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()

    terminated = 0
    for step in range(1, 10):
        burst.wait_until(step / 10)
        terminated += _terminate_pipeline_connections()
    burst.finish()
    terminated += _terminate_pipeline_connections()

    settle("pg_terminate_backend", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    assert terminated > 0


# Retries short enough that the outage outlasts them many times over; the waits stay below
# the tests' Redis visibility timeout (20 s), as production's stay below Redis's hour.
OUTAGE_RETRIES = {"EVENTBUS_MAX_RETRIES": "3", "EVENTBUS_BACKOFF_MAX": "4"}


def _sent_back_beyond_the_retries(worker_log: str) -> int:
    """Send-backs of messages whose outcome could not be recorded, past the events' own retries."""
    return sum(
        1
        for line in worker_log.splitlines()
        if '"consumer.outcome_not_recorded"' in line
        and json.loads(line)["outage"] > int(OUTAGE_RETRIES["EVENTBUS_MAX_RETRIES"])
    )


def test_postgresql_unreachable_for_longer_than_the_retries_during_a_drain(
    transactional_db, log_dir, receiver, users, postgresql_proxy
):
    # given the workers reaching PostgreSQL through a proxy; the relay keeps its own connection,
    # so it fills the queues throughout the outage and deletes what it sent from the outbox
    running = Pipeline(log_dir, **OUTAGE_RETRIES)
    try:
        worker = running.start_worker(DATABASE_URL=database_url(host="127.0.0.1", port=postgresql_proxy.port))
        running.start_relay()
        running.wait_connected()
        burst = Burst(events=CHAOS_EVENTS, users=users)
        burst.start()

        # when the proxy refuses and cuts every connection at a third of the burst, for longer
        # than the retries (CHAOS_PG_OUTAGE), and then lets them through again
        burst.wait_until(1 / 3)
        postgresql_proxy.cut()
        time.sleep(CHAOS_PG_OUTAGE)
        postgresql_proxy.restore()
        burst.finish()

        # then every event is accounted for, and messages did wait beyond their retries
        settle("PostgreSQL unreachable", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
        assert _sent_back_beyond_the_retries(worker.log()) > 0
    finally:
        running.stop()


def test_relays_killed_and_restarted_and_two_at_once(transactional_db, log_dir, receiver, users):
    # given two relays at once: one sends, the other stands by
    running = Pipeline(log_dir)
    try:
        running.start_worker()
        first, second = running.start_relay(), running.start_relay()
        burst = Burst(events=CHAOS_EVENTS, users=users)
        burst.start()

        # when each is killed mid-burst and started again
        burst.wait_until(0.3)
        Pipeline.kill(first)
        burst.wait_until(0.5)
        running.start_relay()
        burst.wait_until(0.7)
        Pipeline.kill(second)
        running.start_relay()
        burst.finish()

        settle("relay killed, two relays", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    finally:
        running.stop()


def _failed_attempts(error: str) -> int:
    return WebhookAttempt.objects.filter(error__icontains=error).count()


def test_webhook_receiver_down_then_slow_then_back(pipeline, receiver, users):
    # given a receiver that refuses connections from the start of the burst
    receiver.stop()
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()
    wait_for(lambda: _failed_attempts("refused") >= 3, timeout=120, what="refused attempts")

    # when it comes back too slow to answer within the timeout
    receiver.slow = True
    receiver.start()
    wait_for(lambda: _failed_attempts("timeout") >= 2, timeout=120, what="timed-out attempts")

    # and then answers again
    receiver.slow = False
    burst.finish()

    result = settle("webhook down/slow/back", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    assert result.delivered == result.webhooks_expected


def test_a_poison_message_among_good_ones(pipeline, receiver, users):
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()

    # an event whose handler kills its worker every time
    burst.wait_until(0.3)
    with transaction.atomic():
        poison = publish(ProbeRequested(probe_id=uuid.uuid4().hex, action="kill_always"))
    # and a batch for audit with one event its table cannot take (its aggregate id is too long)
    burst.wait_until(0.5)
    envelopes = ledger.committed_envelopes()[:10]
    batch = [{**envelope, "event_id": str(uuid.uuid4())} for envelope in envelopes]
    batch[4] = {**batch[4], "aggregate_id": "x" * 100}
    audit.task.apply_async(args=(batch,), queue=routing.AUDIT)
    burst.finish()

    wait_for(
        lambda: DeadLetter.objects.filter(consumer="probe", event_id=poison["event_id"]).exists(),
        timeout=DRAIN_TIMEOUT,
        interval=1.0,
        what="the poison message in the dead-letter store",
    )
    explained = {
        poison["event_id"]: "killed its worker at every delivery",
        batch[4]["event_id"]: "an aggregate id too long for the audit table",
    }
    result = settle("poison message", receiver=receiver, explained=explained, timeout=DRAIN_TIMEOUT)
    assert result.dead_lettered == 2


def _copies_onto_the_queues(envelopes: list[dict]) -> int:
    """Messages exactly like the relay's, published with kombu straight onto the consumers' queues."""
    sent = 0
    with celery_app.connection_for_write() as broker:
        producer = broker.Producer(serializer="json")
        for consumer in consumer_registry.all_consumers():
            for queue, group in consumer.route(envelopes):
                for start in range(0, len(group), consumer.batch_size):
                    chunk = group[start : start + consumer.batch_size]
                    message = celery_app.amqp.as_task_v2(str(uuid.uuid4()), consumer.task.name, args=(chunk,))
                    producer.publish(
                        message.body,
                        exchange=routing.EXCHANGE,
                        routing_key=queue,
                        headers=message.headers,
                        **message.properties,
                    )
                    sent += 1
    return sent


def test_duplicate_deliveries_injected_into_the_queues(pipeline, receiver, users):
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()

    # copies of what was sent so far, mid-burst, and of everything once the burst is over
    burst.wait_until(0.5)
    sent = _copies_onto_the_queues(ledger.committed_envelopes())
    burst.finish()
    settle("duplicates (first pass)", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    sent += _copies_onto_the_queues(ledger.committed_envelopes())

    result = settle("duplicates injected", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    assert sent > 0
    assert result.duplicates == 0
