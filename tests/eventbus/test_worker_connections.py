"""A worker keeps its database connections between tasks, as a web process does between requests
(CONN_MAX_AGE): Celery's Django fixup used to open a new one for every message."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from identity_project.eventbus.publisher import publish
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def sessions_opened() -> int:
    """Sessions PostgreSQL has established to this database so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_forty_messages_handled_by_a_worker_open_a_handful_of_database_connections(worker, probe_id):
    # given a worker and its relay, connected and idle
    with transaction.atomic():
        publish(ProbeRequested(probe_id=f"{probe_id}-warm", action="ok"))
    wait_for(lambda: ProbeEffect.objects.filter(probe_id=f"{probe_id}-warm").exists(), what="the warm-up")
    before = sessions_opened()

    # when forty events arrive one message each (the probe consumer takes one event per message)
    for n in range(40):
        with transaction.atomic():
            publish(ProbeRequested(probe_id=f"{probe_id}-{n}", action="ok"))
    wait_for(
        lambda: ProbeEffect.objects.filter(probe_id__startswith=f"{probe_id}-").count() == 41, timeout=60
    )

    # then the worker's processes went on with the connections they had: a few new ones at most
    # (this test's own, a child replaced), never one per message
    assert sessions_opened() - before < 10
