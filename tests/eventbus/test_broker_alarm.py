"""A broker that blocks its publishers (RabbitMQ's memory alarm, raised by design under pressure)
delays delivery, never a request: sign-up, sign-in and a password reset answer, their events (and
the reset's task) wait in the outbox without a lock on them, the relay gives up each try at its
deadline, and every event arrives once the alarm clears."""

from __future__ import annotations

import time

import httpx
import pytest
from django.db import OperationalError, connection, transaction

from audit.models import AuditEntry
from identity_project.eventbus.models import OutboxEvent, OutboxTask
from tests.identity.support import PASSWORD
from tests.support.processes import service_env, start_web, start_worker, wait_for
from tests.support.rabbitmq_node import RabbitMQNode

pytestmark = [pytest.mark.rabbitmq_only, pytest.mark.django_db(transaction=True)]


def _outbox_rows_free() -> bool:
    """Whether every outbox row can be locked at once: nobody holds one while waiting on the broker."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
            list(OutboxEvent.objects.select_for_update().values_list("pk", flat=True))
    except OperationalError:  # the lock timeout: a row is held
        return False
    return True


@pytest.fixture
def node():
    """A private RabbitMQ node: the shared server serves other runs and must never raise an alarm."""
    private = RabbitMQNode()
    try:
        private.start()
        yield private
    finally:
        private.remove()


def test_with_the_memory_alarm_on_sign_up_and_sign_in_answer_and_every_event_arrives_once_it_clears(
    node, log_dir
):
    # given the platform on the node (web, a worker and its relay), and the node's memory alarm on
    env = service_env(CELERY_BROKER_URL=node.url, EVENTBUS_BROKER_TIMEOUT="2")
    worker = start_worker(log_dir, queues="audit", env=env)
    web, url = start_web(log_dir, env=env)
    try:
        node.memory_alarm(True)

        # when a person signs up, signs in and asks for a password reset through the API
        with httpx.Client(base_url=url, timeout=30) as http:
            person = {"email": "alarm@example.com", "password": PASSWORD}
            registered = http.post("/api/v1/auth/register", json=person)
            signed_in = http.post("/api/v1/auth/login", json=person)
            reset = http.post("/api/v1/auth/password/reset", json={"email": person["email"]})

        # then all answer; their events, and the reset's task, wait in the outbox while the relay
        # fails at its deadline
        answers = [registered.status_code, signed_in.status_code, reset.status_code]
        assert answers == [201, 200, 202], (registered.text, signed_in.text, reset.text)
        committed = OutboxEvent.objects.count()
        assert committed >= 5
        assert OutboxTask.objects.count() == 1
        [relay] = worker.companions
        wait_for(
            lambda: relay.log().count("relay.failed") >= 2, timeout=60, what="the relay to give up twice"
        )
        assert "TimeoutError" in relay.log() or "timed out" in relay.log(), relay.log()[-2000:]
        # and no row is held while the relay waits on the blocked broker
        for _ in range(5):
            assert _outbox_rows_free()
            time.sleep(0.3)
        assert AuditEntry.objects.count() == 0

        # when the alarm clears
        node.memory_alarm(False)

        # then every event arrives, once, the reset's task is sent, and the outbox is empty
        wait_for(lambda: AuditEntry.objects.count() >= committed, timeout=120, what="every event audited")
        wait_for(lambda: not OutboxEvent.objects.exists(), what="the outbox to empty")
        wait_for(lambda: not OutboxTask.objects.exists(), what="the reset's task to be sent")
        assert (
            AuditEntry.objects.values("event_id").distinct().count()
            == AuditEntry.objects.count()
            == committed
        )
    finally:
        web.stop()
        worker.stop()
