"""The consumer base: one Celery task per consumer, with idempotency, retries and dead letters.
This module declares a consumer and runs its task; applying.py applies a message's events;
retries.py sends a message back; consumer_registry.py keeps the consumers by name.

A consumer module declares what it handles in one visible place:

    notification = Consumer("notification", queue=routing.NOTIFICATION)

    @notification.handles(UserRegistered)
    def send_welcome(delivered: Delivered) -> None: ...

    @send_welcome.compensate
    def _(delivered: Delivered, error: BaseException) -> None: ...

or, for a batch consumer (audit), `@audit.handles_all` with a function taking a list.

A consumer whose wants change at run time (integration: the types its active webhook
subscriptions select) passes `wanted`, a function read once per relay round that returns which
event types it wants at that moment: the relay sends it only those (route_committed). The
function it returns takes the type and a moment of commit (None for now), so that the trace can
tell an event that committed before it was wanted from one still on its way. What it subscribes
to stays the catalog it can take, for retries, replays and dead letters.

`batch_size` is how many events one message carries. A per-event consumer with batch_size > 1
still applies, retries and dead-letters each event on its own; batching only saves messages
(each publish waits for the broker's confirm).

Each handler runs in one transaction together with the (consumer, event_id) claim, so a
redelivered event changes nothing (a batch consumer whose own rows are unique by event_id keeps
them as its record instead, records.py); the events of one message share that transaction (one
commit per message) unless one of them fails, when each is applied again in its own. Failures: a
PermanentError or an invalid envelope is dead-lettered at once; anything else is retried with
exponential backoff and jitter, up to the consumer's max_retries, then dead-lettered. A batch that
fails for a reason other than the infrastructure is split in halves until the bad event is isolated.
A message whose outcome cannot be recorded (the database is unreachable) goes back to its queue
until it can be, without spending its events' retries (retries.py).

While an event is handled, structlog's context names it (correlation_id, event_id, event_type,
consumer, attempt): every log line, the handler's and Celery's own (signals.py), carries them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import structlog
from celery import Task
from django.conf import settings

from identity_project.celery import app
from identity_project.eventbus import (
    applying,
    consumer_registry,
    deadletters,
    redelivery,
    retries,
    routing,
    wire,
)
from identity_project.eventbus.applying import Failure
from identity_project.eventbus.catalog import Event, registry
from identity_project.eventbus.envelope import Delivered
from identity_project.eventbus.errors import is_infrastructure_failure
from identity_project.eventbus.models import DeadLetter
from identity_project.eventbus.records import Claims, Record
from identity_project.eventbus.retries import Attempt
from identity_project.metrics import ConsumerMetrics

log = structlog.get_logger(__name__)


class Handler:
    """A consumer's function for some event types, with an optional compensation."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.compensation: Callable[[Delivered, BaseException], None] | None = None

    def __call__(self, arg: Any) -> Any:
        return self.fn(arg)

    def compensate(self, fn: Callable[[Delivered, BaseException], None]):
        """Register what to undo when an event of this handler is dead-lettered."""
        self.compensation = fn
        return fn


class Consumer:
    def __init__(
        self,
        name: str,
        *,
        queue: str,
        urgent_queue: str | None = None,
        batch_size: int = 1,
        max_retries: int | None = None,
        record: Record | None = None,
        wanted: Callable[[], Callable[[str, dt.datetime | None], bool]] | None = None,
    ) -> None:
        self.name = name
        self.wanted = wanted
        self.record = Claims() if record is None else record
        self.queue = queue
        self.urgent_queue = urgent_queue
        self.batch_size = batch_size
        self.max_retries = settings.EVENTBUS["MAX_RETRIES"] if max_retries is None else max_retries
        self.handlers: dict[str, Handler] = {}
        self.urgent_types: set[str] = set()
        self.batch_handler: Handler | None = None
        self._all_types: tuple[int, frozenset[str]] = (-1, frozenset())
        self.task = self._make_task()
        self.metrics = ConsumerMetrics(name)
        consumer_registry.add(self)
        routing.declare(queue, urgent_queue)

    # --- declaring what it handles -----------------------------------------------------------

    def handles(self, *events: type[Event], urgent: bool = False) -> Callable[[Callable], Handler]:
        if not self.record.claims:
            raise ValueError(
                f"{self.name} keeps its own rows as its record: it takes a batch handler (handles_all)"
            )

        def register(fn: Callable[[Delivered], None]) -> Handler:
            handler = fn if isinstance(fn, Handler) else Handler(fn)
            for event in events:
                if event.type in self.handlers:
                    raise ValueError(f"{self.name} handles {event.type} twice")
                self.handlers[event.type] = handler
                if urgent:
                    self.urgent_types.add(event.type)
            return handler

        return register

    def handles_all(self, fn: Callable[[list[Delivered]], None]) -> Handler:
        """Every event of the catalog, delivered in batches of up to batch_size."""
        self.batch_handler = Handler(fn)
        return self.batch_handler

    def subscribes(self, event_type: str) -> bool:
        return event_type in self.subscriptions()

    def subscriptions(self) -> frozenset[str]:
        """The event types it takes; a batch consumer takes every type of the registry. Kept
        until the registry grows: this runs for every message the relay sends."""
        if self.batch_handler is None:
            return frozenset(self.handlers)
        if self._all_types[0] != len(registry):
            self._all_types = (len(registry), frozenset(cls.type for cls in registry.events()))
        return self._all_types[1]

    def wants_now(self) -> Callable[..., bool]:
        """Whether, as things stand now, it would be sent an event of a type that commits now (or
        committed at `committed_at`): subscribed to, and wanted (`wanted`, read once here)."""
        wanted = self.wanted() if self.wanted else None
        return lambda event_type, committed_at=None: (
            self.subscribes(event_type) and (wanted is None or wanted(event_type, committed_at))
        )

    def route_committed(self, envelopes: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
        """route() of committed events, as the relay sends them: of those it wants now. The relay
        reads rows before it asks, so an event committed after the change that made it wanted (a
        subscription's creation) is always sent."""
        if self.wanted is None or not envelopes:
            return self.route(envelopes)
        wants = self.wants_now()
        wanted = {event_type for event_type in {e["type"] for e in envelopes} if wants(event_type)}
        return self.route([envelope for envelope in envelopes if envelope["type"] in wanted])

    def route(self, envelopes: Iterable[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
        """The envelopes this consumer wants, grouped by the queue they go to."""
        subscribed = self.subscriptions()
        normal, urgent = [], []
        for envelope in envelopes:
            if envelope["type"] in subscribed:
                (urgent if envelope["type"] in self.urgent_types else normal).append(envelope)
        routes = []
        if normal:
            routes.append((self.queue, normal))
        if urgent:
            routes.append((self.urgent_queue or self.queue, urgent))
        return routes

    def send(
        self,
        envelopes: list[dict[str, Any]],
        *,
        queue: str | None = None,
        producer=None,
        timeout: float | None = None,
    ) -> None:
        """One message to this consumer's queue (or `queue`), without Celery's own publish retries:
        the callers (relay, replay) decide what a failure means. The publish and its confirm wait at
        most `timeout` (BROKER_TIMEOUT by default). The task's argsrepr names the events instead of
        repeating their data in message headers, Flower and logs."""
        self.task.apply_async(
            args=(envelopes,),
            queue=queue or self.queue,
            producer=producer,
            retry=False,
            timeout=settings.EVENTBUS["BROKER_TIMEOUT"] if timeout is None else timeout,
            argsrepr=f"[{len(envelopes)} events: {envelopes[0].get('type', '?')}, ...]"
            if envelopes
            else "[]",
            kwargsrepr="{}",
        )

    # --- the task --------------------------------------------------------------------------

    def _make_task(self) -> Task:
        consumer = self

        @app.task(
            name=f"{self.name}.consume",
            bind=True,
            acks_late=True,
            reject_on_worker_lost=True,
            max_retries=None,  # our own limit, per consumer, below
            ignore_result=True,
            serializer=wire.SERIALIZER,
        )
        def consume(
            task: Task, envelopes: list[dict[str, Any]], attempt: int | None = None, outage: int = 0
        ) -> None:
            consumer.consume(task, envelopes, Attempt.of(task, attempt, outage))

        return consume

    def consume(self, task: Task, envelopes: list[dict[str, Any]], attempt: Attempt | None = None) -> None:
        """Settle the message, or send it back: its failed events for their next attempt, or the
        whole message when its outcome could not be recorded (retries.py)."""
        attempt = Attempt.of(task) if attempt is None else attempt
        try:
            to_retry = self._settle(task, envelopes, attempt.event)
        except Exception as exc:
            # The database went away under the consumer's own writes (a failure record, a dead
            # letter), not a handler's. Raised, it would reject the message, which RabbitMQ
            # dead-letters and Redis deletes: the whole message waits the outage out instead.
            if not is_infrastructure_failure(exc):
                raise
            lane = retries.lane(task, self.queue)
            raise retries.wait_out_outage(
                task, envelopes, attempt, consumer=self.name, queue=lane, exc=exc
            ) from exc
        if to_retry:
            self.metrics.retried.inc(len(to_retry))
            retry_envelopes = [f.delivered.published for f in to_retry]
            [(queue, _), *_] = self.route(retry_envelopes)
            raise retries.retry_events(task, retry_envelopes, attempt, queue=queue, exc=to_retry[0].error)

    def process(self, envelopes: Sequence[Any], attempt: int) -> list[Failure]:
        """Apply what can be applied; dead-letter what never can; return what to retry (applying.py)."""
        return applying.process(self, envelopes, attempt)

    def _settle(self, task: Task, envelopes: list[dict[str, Any]], attempt: int) -> list[Failure]:
        """Apply the message's events and record what became of each; return the failures to
        retry (none on the last attempt: those are dead-lettered)."""
        if redelivery.limit_passed(task):
            self._give_up(envelopes, queue=retries.lane(task, self.queue))
            return []
        started = time.monotonic()
        to_retry = self.process(envelopes, attempt)
        log.info(
            "consumer.batch_done",
            consumer=self.name,
            events=len(envelopes),
            retrying=len(to_retry),
            attempt=attempt,
            duration_ms=round((time.monotonic() - started) * 1000, 2),
        )
        if to_retry and attempt >= self.max_retries:
            for failure in to_retry:
                applying.dead_letter(self, failure, DeadLetter.Reason.RETRIES_EXHAUSTED, attempts=attempt + 1)
            return []
        return to_retry

    def _give_up(self, envelopes: list[dict[str, Any]], *, queue: str) -> None:
        """On a broker without a delivery limit (Redis), what RabbitMQ's limit and drain do."""
        limit = settings.EVENTBUS["DELIVERY_LIMIT"]
        deadletters.give_up(
            consumer=self.name,
            queue=queue,
            envelopes=envelopes,
            deliveries=limit + 2,
            error=f"delivered {limit + 2} times: it killed or stalled its worker each time",
        )

    def log_fields(self, envelope: dict[str, Any], attempt: int) -> dict[str, Any]:
        return {
            "correlation_id": envelope.get("correlation_id"),
            "event_id": envelope.get("event_id"),
            "event_type": envelope.get("type"),
            "consumer": self.name,
            "attempt": attempt,
        }
