"""The two recipes still hold: a new audited event is its class and its publisher; a new consumer
is its app in INSTALLED_APPS, which gives it its queue, its dead-letter queue and their drain."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from kombu import Exchange

from audit.models import AuditEntry
from identity_project.celery import app
from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.models import DeadLetter
from identity_project.eventbus.publisher import publish
from tests.probe.events import ProbeNoted
from tests.support.processes import wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db(transaction=True)
def test_a_new_event_is_audited_by_the_real_audit_consumer_with_no_other_edit(worker):
    # given an event class of a test app that nothing but its class declares (tests/probe/events.py)
    probe_id = uuid.uuid4().hex

    # when it is published inside a transaction, here its publisher
    with transaction.atomic():
        envelope = publish(ProbeNoted(probe_id=probe_id, note="recipe"))

    # then the relay sends it and the worker's audit consumer stores it in the trail
    entry = wait_for(
        lambda: AuditEntry.objects.filter(event_id=envelope["event_id"]).first(),
        timeout=60,
        what="the audit entry of the new event",
    )
    assert (entry.type, entry.source, entry.data) == (
        "tests.probe.noted",
        "tests",
        {"probe_id": probe_id, "note": "recipe"},
    )


def test_the_probe_consumers_queue_comes_from_its_app_not_from_the_settings():
    # given tests/settings.py names "probe" in INSTALLED_APPS only
    lines = [line for line in (ROOT / "tests/settings.py").read_text().splitlines() if "probe" in line]
    assert lines == ['INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe", "tests.recording"]']

    # then the registered probe consumer has its quorum queue, dead-lettered to probe.dlq
    queues = app.amqp.queues
    assert "probe" in routing.queue_names()
    assert queues["probe"].routing_key == "probe"
    if routing.broker_is_rabbitmq(settings.CELERY_BROKER_URL):
        assert queues["probe"].queue_arguments["x-queue-type"] == "quorum"
        assert queues["probe"].queue_arguments["x-dead-letter-routing-key"] == "probe.dlq"
    dead_letter_queues = routing.dead_letter_queues(settings.CELERY_BROKER_URL, routing.queue_names())
    assert "probe.dlq" in {queue.name for queue in dead_letter_queues}


def test_without_the_probe_app_there_is_no_probe_queue(tmp_path):
    # given the test settings with the probe app taken out of INSTALLED_APPS
    (tmp_path / "settings_without_probe.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        'INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "tests.probe"]  # noqa: F405\n'
    )
    script = (
        "import django; django.setup()\n"
        "from identity_project.celery import app\n"
        "from identity_project.eventbus import routing\n"
        "print(','.join(routing.queue_names()), ','.join(app.amqp.queues))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings_without_probe",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }

    # when a process of those settings lists its queues
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    # then the consumers' queues are there, and the probe's is not
    names, celery_queues = out.stdout.split()
    expected = "identity,audit,notification,notification.urgent,integration"
    assert (names, celery_queues) == (expected, expected)


@pytest.mark.django_db
@pytest.mark.rabbitmq_only
def test_the_probe_queues_dead_letters_are_drained_into_the_store():
    # given a probe message that RabbitMQ dead-lettered to probe.dlq
    envelope = {"type": "tests.probe.requested", "event_id": str(uuid.uuid4())}
    with app.connection_for_write() as connection:
        routing.declare_dead_letter_topology(connection, app.conf.broker_url, routing.queue_names())
        connection.Producer().publish(
            [[[envelope]], {}, {}],
            exchange=Exchange(routing.DEAD_LETTER_EXCHANGE.name, type="direct"),
            routing_key="probe.dlq",
            headers={"task": "probe.consume", "id": "t-probe", "x-delivery-count": 5},
            serializer="json",
        )

    # when the drain runs
    drained = deadletters.drain_dead_letter_queues()

    # then the probe consumer's dead letter is in the store
    assert drained == 1
    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.reason) == ("probe", "delivery_limit")
