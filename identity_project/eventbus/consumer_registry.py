"""The consumers defined so far, by name: each `Consumer` adds itself when its app's consumer
module is imported (apps.ready), and the relay, the queues, the dead letters and the operations
pages read them here. Kept apart from the consumer base so that what only reads the registry
(the dead letters' replay, for one) never imports the machinery that runs a consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Task

    from identity_project.eventbus.consumers import Consumer

_consumers: dict[str, Consumer] = {}


def add(consumer: Consumer) -> None:
    if consumer.name in _consumers:
        raise ValueError(f"consumer {consumer.name!r} is defined twice")
    _consumers[consumer.name] = consumer


def all_consumers() -> list[Consumer]:
    return list(_consumers.values())


def get_consumer(name: str) -> Consumer:
    return _consumers[name]


def consumer_of_task(task: Task) -> Consumer | None:
    """The consumer whose `<name>.consume` task this is, if any."""
    return _consumers.get(task.name.removesuffix(".consume")) if task.name.endswith(".consume") else None
