"""A delivery limit for brokers that have none (Redis): each delivery of a consumer's message is
counted in the broker's Redis before its handler runs.

RabbitMQ's quorum queues dead-letter a message after `x-delivery-limit` redeliveries. Redis has
no such limit: a message whose handler kills its worker is put back at the head of its queue at
once (`reject_on_worker_lost`), or after the visibility timeout when the whole worker died, and
would kill every worker that takes it, for ever. Past DELIVERY_LIMIT redeliveries the consumer
gives up on it as RabbitMQ and the drain would (deadletters.give_up).
"""

from __future__ import annotations

from functools import cache

import redis
from celery import Task
from django.conf import settings

from identity_project.eventbus import routing

# Long enough to outlive every redelivery of a message (the limit times the visibility timeout).
COUNT_TTL_SECONDS = 24 * 3600


def counted_here() -> bool:
    """RabbitMQ counts deliveries itself; the filesystem broker is a single-machine demo."""
    return routing.broker_is_redis(settings.CELERY_BROKER_URL)


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _key(task: Task) -> str:
    """A message is its task id and retry number: a retry is a new message with the same id."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return f"{prefix}eventbus:deliveries:{task.request.id}:{task.request.retries}"


def deliveries(task: Task) -> int:
    """Count this delivery of the task's message; return how many there have been, this one included."""
    key = _key(task)
    with _client().pipeline() as pipe:
        count, _ = pipe.incr(key).expire(key, COUNT_TTL_SECONDS).execute()
    return int(count)


def limit_passed(task: Task) -> bool:
    """True when the message was redelivered more than DELIVERY_LIMIT times (never on RabbitMQ)."""
    if not counted_here():
        return False
    return deliveries(task) > settings.EVENTBUS["DELIVERY_LIMIT"] + 1
