"""The queues, declared in one place: one per consumer (plus the urgent lane), each with its
dead-letter queue on RabbitMQ.

On RabbitMQ the queues are quorum queues with a delivery limit: a message that kills its
worker every time is dead-lettered to `<queue>.dlq` after DELIVERY_LIMIT redeliveries, and
the drain moves it into the dead-letter store. The exchange is a topic exchange so that
Celery's native delayed delivery (used for retry countdowns on quorum queues) can route to
them; retries then wait in the broker, not in a worker's memory.
"""

from __future__ import annotations

from kombu import Exchange, Queue

EXCHANGE = Exchange("eventbus", type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("eventbus.dlx", type="direct", durable=True)

AUDIT = "audit"
NOTIFICATION = "notification"
NOTIFICATION_URGENT = "notification.urgent"
INTEGRATION = "integration"
IDENTITY = "identity"
QUEUE_NAMES = (AUDIT, NOTIFICATION, NOTIFICATION_URGENT, INTEGRATION, IDENTITY)


def broker_is_rabbitmq(broker_url: str) -> bool:
    return broker_url.split(":", 1)[0] in {"amqp", "pyamqp", "amqps"}


def broker_is_redis(broker_url: str) -> bool:
    return broker_url.split(":", 1)[0] in {"redis", "rediss"}


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dlq"


def _queue_arguments(name: str, broker_url: str, delivery_limit: int) -> dict[str, object] | None:
    if not broker_is_rabbitmq(broker_url):
        return None
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
        "x-dead-letter-routing-key": dead_letter_queue_name(name),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def task_queues(
    broker_url: str, delivery_limit: int, names: tuple[str, ...] = QUEUE_NAMES
) -> tuple[Queue, ...]:
    """The queues Celery declares and consumes (CELERY_TASK_QUEUES)."""
    return tuple(
        Queue(
            name,
            EXCHANGE,
            routing_key=name,
            durable=True,
            queue_arguments=_queue_arguments(name, broker_url, delivery_limit),
        )
        for name in names
    )


def dead_letter_queues(broker_url: str, names: tuple[str, ...]) -> tuple[Queue, ...]:
    """Declared apart from task_queues, so that no worker consumes them as tasks."""
    arguments = {"x-queue-type": "quorum"} if broker_is_rabbitmq(broker_url) else None
    return tuple(
        Queue(
            dead_letter_queue_name(name),
            DEAD_LETTER_EXCHANGE,
            routing_key=dead_letter_queue_name(name),
            durable=True,
            queue_arguments=arguments,
        )
        for name in names
    )


def declare_dead_letter_topology(connection, broker_url: str, names: tuple[str, ...]) -> None:
    """The dead-letter exchange must exist before RabbitMQ needs it, or it drops the message."""
    if not broker_is_rabbitmq(broker_url):
        return
    channel = connection.default_channel
    for queue in dead_letter_queues(broker_url, names):
        queue.bind(channel).declare()


def queue_names() -> tuple[str, ...]:
    """The names of the queues this process's Celery app knows (the settings' task_queues)."""
    from django.conf import settings

    return tuple(queue.name for queue in settings.CELERY_TASK_QUEUES)
