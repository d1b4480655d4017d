"""The queues, declared by the consumers: each consumer's queue (and its urgent lane), each with
its dead-letter queue on RabbitMQ, and the one drain that moves those into the dead-letter store.

On RabbitMQ the queues are quorum queues with a delivery limit: a message that kills its
worker every time is dead-lettered to `<queue>.dlq` after DELIVERY_LIMIT redeliveries, and
the drain moves it into the dead-letter store. The exchange is a topic exchange so that
Celery's native delayed delivery (used for retry countdowns on quorum queues) can route to
them; retries then wait in the broker, not in a worker's memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from kombu import Exchange, Queue

EXCHANGE = Exchange("eventbus", type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("eventbus.dlx", type="direct", durable=True)

AUDIT = "audit"
NOTIFICATION = "notification"
NOTIFICATION_URGENT = "notification.urgent"
INTEGRATION = "integration"
IDENTITY = "identity"

# The queues the consumers declared, in the order they did: filled by Consumer() (consumers.py),
# which every consumer module runs when its app's ready() imports it.
_declared: dict[str, None] = {}


def declare(*names: str | None) -> None:
    """A consumer's queues (its queue, its urgent lane): Celery declares and consumes them."""
    _declared.update(dict.fromkeys(name for name in names if name))


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


def task_queues(broker_url: str, delivery_limit: int, names: tuple[str, ...]) -> tuple[Queue, ...]:
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


class ConsumerQueues(list):
    """CELERY_TASK_QUEUES: the queues of the registered consumers (and `extra` ones, for plain
    tasks of their own), built whenever they are read, not when settings are evaluated.

    Settings are evaluated before Django loads the apps, so before any consumer is registered.
    Celery reads task_queues once, the first time it needs them (`app.amqp.queues`): a worker or
    beat after Celery's Django fixup ran django.setup() (the loader's import_modules, before the
    worker selects its -Q queues), web and relay at their first publish. By then every installed
    app's ready() has imported its consumer module, and each Consumer() has declared its queues
    (`declare`). Read earlier, it raises AppRegistryNotReady rather than leave a consumer's queue
    out, which Celery would create on the fly without the quorum arguments and never drain.

    A list of kombu Queues to whoever reads it (Celery, Flower), as task_queues is documented;
    its items are computed on each read, never stored.
    """

    def __init__(self, broker_url: str, delivery_limit: int, *, extra: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.broker_url = broker_url
        self.delivery_limit = delivery_limit
        self.extra = extra

    def _queues(self) -> tuple[Queue, ...]:
        from django.apps import apps

        apps.check_apps_ready()
        names = tuple(dict.fromkeys((*_declared, *self.extra)))
        return task_queues(self.broker_url, self.delivery_limit, names)

    def __iter__(self) -> Iterator[Queue]:
        return iter(self._queues())

    def __len__(self) -> int:
        return len(self._queues())

    def __getitem__(self, index):
        return self._queues()[index]

    def __repr__(self) -> str:
        return repr(list(self))


def queue_names() -> tuple[str, ...]:
    """The names of the queues this process's Celery app knows (the settings' task_queues): the
    queues Celery consumes, and whose dead-letter queues the drain empties."""
    from django.conf import settings

    return tuple(queue.name for queue in settings.CELERY_TASK_QUEUES)
