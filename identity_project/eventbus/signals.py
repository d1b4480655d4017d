"""Celery signal receivers: declare the whole topology before a worker consumes; keep database
connections between tasks.

Every queue of the app is declared (not only those this worker consumes): Celery's native
delayed delivery binds all of them, and the dead-letter exchange must exist before RabbitMQ
needs it, or it drops the message.
"""

from celery import signals
from django.conf import settings
from django.db import close_old_connections

from identity_project.eventbus import routing


@signals.worker_init.connect
def declare_topology(sender=None, **_: object) -> None:
    app = sender.app
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=10)
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()
        routing.declare_dead_letter_topology(connection, settings.CELERY_BROKER_URL, routing.queue_names())


@signals.task_prerun.connect
def reuse_database_connections(**_: object) -> None:
    """A task keeps the process's database connection, as a request does: it is closed when older
    than CONN_MAX_AGE or unusable after an error (settings.CELERY_DB_REUSE_MAX says why)."""
    close_old_connections()
