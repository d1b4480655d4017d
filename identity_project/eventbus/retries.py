"""How a consumer's message goes back to its queue: for another try of its events, or to wait out
an outage of the database the consumer records its outcomes in.

Two budgets, carried in the message's kwargs (`attempt`, `outage`):

- an event's own failures (a handler that raised, recorded as a DeliveryFailure) spend its
  retries: `attempt` grows until the consumer's max_retries, then the event is dead-lettered;
- a message whose outcome cannot be recorded (the database is unreachable, so neither the
  failure nor a dead letter can be written) spends none: it is sent back with `outage` grown
  by one, for as long as the outage lasts, each wait longer than the one before up to the cap.

A worker of a release before these kwargs cannot take a message sent back with them (its task
has no such parameters): roll a deployment out to every worker before messages are sent back.

Both go back with `task.retry`: a new message with a countdown, the old one acked once the new
one is published. Not `Reject(requeue=True)`: kombu's Redis transport pushes a requeued message
back at the head of its queue at once (a hot loop while the database is down), and RabbitMQ's
quorum queues count every requeue towards `x-delivery-limit`, so an outage would dead-letter
the message. And never an exception out of the task: with `task_acks_on_failure=False` the
message is rejected without requeue, which RabbitMQ dead-letters and Redis deletes (issue #18).

A retry's countdown waits in RabbitMQ (native delayed delivery) or, on Redis, unacked in the
worker's memory: past the visibility timeout Redis hands the message to another worker too, and
every copy would be sent back on its own, so on Redis no wait reaches half of that timeout.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import structlog
from celery import Task
from celery.exceptions import Retry
from django.conf import settings
from kombu.transport.native_delayed_delivery import MAX_NUMBER_OF_BITS_TO_USE

from identity_project.eventbus import routing

log = structlog.get_logger(__name__)

# What RabbitMQ's native delayed delivery puts before the routing key of a message it held: the
# countdown in binary, a digit per word (kombu's calculate_routing_key).
_DELAY_PREFIX = re.compile(rf"^(?:[01]\.){{{MAX_NUMBER_OF_BITS_TO_USE}}}")

# 2**32 seconds is past any cap: a longer outage keeps the capped wait instead of overflowing
# the float the delay is computed in.
_LONGEST_EXPONENT = 32


def backoff(attempt: int, *, factor: float, maximum: float) -> int:
    """Seconds before retry number `attempt + 1`: exponential, with jitter, in whole seconds.

    base = factor * 2**attempt; the delay is uniform in [base, 2 * base), capped at `maximum`,
    truncated to whole seconds (RabbitMQ's native delayed delivery counts in seconds) and at
    least 1. Unlike Celery's retry_jitter (uniform in [0, base]) a retry never comes back at
    once, and with factor >= 1 each wait is longer than the one before."""
    base = factor * 2 ** min(attempt, _LONGEST_EXPONENT)
    # Jitter spreads retries; it guards nothing, so a non-cryptographic generator is right.
    return max(1, int(min(maximum, base + random.uniform(0, base))))  # nosec B311


def longest_wait() -> float:
    """EVENTBUS_BACKOFF_MAX; on Redis, below half the visibility timeout as well (module docstring)."""
    maximum = settings.EVENTBUS["BACKOFF_MAX"]
    if routing.broker_is_redis(settings.CELERY_BROKER_URL):
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
        maximum = min(maximum, visibility / 2)
    return maximum


def countdown(attempt: int) -> int:
    return backoff(attempt, factor=settings.EVENTBUS["BACKOFF_FACTOR"], maximum=longest_wait())


def lane(task: Task, default: str | None) -> str | None:
    """The queue the message came from (the relay sends to a queue under its own name as routing
    key), for its retry to go back to (urgent or not): Celery would route it by the task's
    default queue. Without the delay prefix of a message that was held for a countdown: a retry
    sent to a queue of that name would be declared anew, and no worker consumes it. `default`:
    for a message that came from no queue (a task run in the caller's process)."""
    routing_key = (task.request.delivery_info or {}).get("routing_key")
    return _DELAY_PREFIX.sub("", routing_key, count=1) if routing_key else default


@dataclass(frozen=True)
class Attempt:
    """Which try of a message this is: `event` retries spent on its events' own failures, and
    `outage` sends-back in a row because its outcome could not be recorded."""

    event: int
    outage: int = 0

    @classmethod
    def of(cls, task: Task, attempt: int | None = None, outage: int = 0) -> Attempt:
        """A message without the kwargs (the relay's, or one sent back before they existed) is on
        the event attempt of its Celery retries."""
        return cls(event=task.request.retries if attempt is None else attempt, outage=outage)


def retry_events(
    task: Task, envelopes: list[dict[str, Any]], attempt: Attempt, *, queue: str, exc: BaseException
) -> Retry:
    """Send `envelopes` back for their next attempt, after the event backoff; the outage count
    starts again."""
    return task.retry(
        args=(envelopes,),
        kwargs={"attempt": attempt.event + 1, "outage": 0},
        countdown=countdown(attempt.event),
        exc=exc,
        queue=queue,
    )


def wait_out_outage(
    task: Task,
    envelopes: list[dict[str, Any]],
    attempt: Attempt,
    *,
    consumer: str,
    queue: str,
    exc: BaseException,
) -> Retry:
    """Send the whole message back on the same event attempt, after the outage backoff: each of
    its events is idempotent, so what was applied before the database went away is skipped."""
    wait = countdown(attempt.outage)
    log.warning(
        "consumer.outcome_not_recorded",
        consumer=consumer,
        events=len(envelopes),
        attempt=attempt.event,
        outage=attempt.outage + 1,
        countdown=wait,
        error=repr(exc)[:500],
    )
    return task.retry(
        args=(envelopes,),
        kwargs={"attempt": attempt.event, "outage": attempt.outage + 1},
        countdown=wait,
        exc=exc,
        queue=queue,
    )
