"""Celery signal receivers: declare the dead-letter topology before a worker takes messages."""

from celery import signals
from django.conf import settings

from identity_project.eventbus import routing


@signals.worker_ready.connect
def declare_dead_letter_topology(sender=None, **_: object) -> None:
    with sender.app.connection_for_write() as connection:
        routing.declare_dead_letter_topology(connection, settings.CELERY_BROKER_URL)
