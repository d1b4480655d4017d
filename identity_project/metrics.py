"""The Prometheus counters and histograms, updated where things happen (publish, consume, login).

Every process (gunicorn workers, Celery's pool children, the relay) writes its values to its own
file in PROMETHEUS_MULTIPROC_DIR, which settings.py puts in the environment before this module
imports prometheus_client; GET /metrics (scrape.py) adds them up. State that lives in the
database (backlog, dead letters, circuits) is not kept here: the scrape reads it.

The event path only calls `.inc()` and `.observe()` on children resolved once per consumer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter as Tally
from collections.abc import Iterable

from celery import signals
from prometheus_client import Counter, Histogram, multiprocess

EVENTS_PUBLISHED = Counter(
    "eventbus_events_published",
    "Events the relay sent to the broker after their transaction committed, by type.",
    ["type"],
)
EVENTS_PROCESSED = Counter(
    "eventbus_consumer_events_processed",
    "Events a consumer applied (its handler ran and committed; redeliveries not counted).",
    ["consumer"],
)
EVENTS_RETRIED = Counter(
    "eventbus_consumer_events_retried", "Events a consumer scheduled for another attempt.", ["consumer"]
)
EVENTS_FAILED = Counter(
    "eventbus_consumer_events_failed",
    "Failed attempts to apply an event (each is retried or dead-lettered).",
    ["consumer"],
)
EVENTS_DEAD_LETTERED = Counter(
    "eventbus_consumer_events_dead_lettered",
    "Events put in the dead-letter store, by consumer and reason.",
    ["consumer", "reason"],
)
HANDLER_DURATION = Histogram(
    "eventbus_handler_duration_seconds",
    "One handler call with its idempotency claim and commit: one event, or one batch for a batch consumer.",
    ["consumer"],
)
COMMIT_TO_HANDLED = Histogram(
    "eventbus_commit_to_handled_seconds",
    "From the event's publish (in its producer's transaction) to its consumer's commit.",
    ["consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, float("inf")),
)
LOGINS = Counter(
    "identity_logins",
    "Sign-in attempts by outcome: succeeded, mfa_required, or the reason it was refused.",
    ["outcome"],
)


class ConsumerMetrics:
    """One consumer's children of the metrics above, resolved once: no label lookup per event."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.processed = EVENTS_PROCESSED.labels(consumer)
        self.retried = EVENTS_RETRIED.labels(consumer)
        self.failed = EVENTS_FAILED.labels(consumer)
        self.duration = HANDLER_DURATION.labels(consumer)
        self.latency = COMMIT_TO_HANDLED.labels(consumer)

    def handled(self, occurred_at: Iterable[str], *, started: float) -> None:
        """A handler call committed (at monotonic time `started`) for events published at these
        ISO 8601 instants (`occurred_at` of their envelopes)."""
        self.duration.observe(time.monotonic() - started)
        now = time.time()
        count = 0
        for instant in occurred_at:
            self.latency.observe(max(0.0, now - dt.datetime.fromisoformat(instant).timestamp()))
            count += 1
        if count:
            self.processed.inc(count)


def dead_lettered(consumer: str, reason: str) -> None:
    EVENTS_DEAD_LETTERED.labels(consumer, reason).inc()


def events_published(types: Iterable[str]) -> None:
    for event_type, count in Tally(types).items():
        EVENTS_PUBLISHED.labels(event_type).inc(count)


def login_attempted(outcome: str) -> None:
    LOGINS.labels(outcome).inc()


@signals.worker_process_shutdown.connect
def _pool_child_exited(pid: int | None = None, **_: object) -> None:
    """A Celery pool child that exits leaves its counters to the sum, and no live gauge behind."""
    if pid is not None:
        multiprocess.mark_process_dead(pid)
