"""Celery signal receivers: declare the whole topology before a worker consumes; keep database
connections between tasks; name a consumer's message in the log context of Celery's own lines.

Every queue of the app is declared (not only those this worker consumes): Celery's native
delayed delivery binds all of them, and the dead-letter exchange must exist before RabbitMQ
needs it, or it drops the message.
"""

import structlog
from celery import Task, signals
from django.conf import settings
from django.db import close_old_connections

from identity_project.eventbus import consumer_registry, routing
from identity_project.eventbus.retries import Attempt

LOG_KEYS = ("correlation_id", "event_id", "event_type", "consumer", "attempt")


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


# Celery logs a task's outcome (succeeded, retry) after the task function returned: the context
# is bound before the task runs and removed after Celery is done with it.


@signals.task_prerun.connect
def bind_message_log_context(task: Task, args: tuple = (), kwargs: dict | None = None, **_: object) -> None:
    consumer = consumer_registry.consumer_of_task(task)
    if consumer is None:
        return
    attempt = Attempt.of(task, **(kwargs or {})).event
    envelopes = args[0] if args and isinstance(args[0], list) else []
    if len(envelopes) == 1 and isinstance(envelopes[0], dict):
        structlog.contextvars.bind_contextvars(**consumer.log_fields(envelopes[0], attempt))
    else:
        structlog.contextvars.bind_contextvars(consumer=consumer.name, attempt=attempt)


@signals.task_postrun.connect
def unbind_message_log_context(task: Task, **_: object) -> None:
    if consumer_registry.consumer_of_task(task) is not None:
        structlog.contextvars.unbind_contextvars(*LOG_KEYS)
