"""The Prometheus counters and histograms, updated where things happen (publish, consume, login).

Every process (gunicorn workers, Celery's pool children, the relay) writes its values to its own
file in PROMETHEUS_MULTIPROC_DIR (multiproc.py sets that up when a command starts); GET /metrics
(scrape.py) adds them up. State that lives in the database (backlog, dead letters, circuits) is
not kept here: the scrape reads it once per scrape, so it is no gauge of any process.

Only counters and histograms live here, which multiprocess mode sums (no `_created` samples
there). A labelled child is made the first time it is used, never at import: Django imports this
module before a command has prepared the multiprocess mode, and a child made earlier would count
in its process's memory. The event path only calls `.inc()` and `.observe()` on children
resolved once per consumer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter as Tally
from collections.abc import Iterable
from functools import cached_property

from prometheus_client import Counter, Histogram

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
    """One consumer's children of the metrics above, resolved at first use (in the process that
    handles events, after its command prepared the multiprocess mode), then kept: no label lookup
    per event."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    @cached_property
    def processed(self) -> Counter:
        return EVENTS_PROCESSED.labels(self.consumer)

    @cached_property
    def retried(self) -> Counter:
        return EVENTS_RETRIED.labels(self.consumer)

    @cached_property
    def failed(self) -> Counter:
        return EVENTS_FAILED.labels(self.consumer)

    @cached_property
    def duration(self) -> Histogram:
        return HANDLER_DURATION.labels(self.consumer)

    @cached_property
    def latency(self) -> Histogram:
        return COMMIT_TO_HANDLED.labels(self.consumer)

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
