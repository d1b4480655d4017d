"""Celery signal receivers: declare the whole topology before a worker consumes.

Every queue of the app is declared (not only those this worker consumes): Celery's native
delayed delivery binds all of them, and the dead-letter exchange must exist before RabbitMQ
needs it, or it drops the message.
"""

from celery import signals
from django.conf import settings

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
