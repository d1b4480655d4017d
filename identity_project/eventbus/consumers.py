"""The consumer base: one Celery task per consumer, with idempotency, retries and dead letters.

A consumer module declares what it handles in one visible place:

    notification = Consumer("notification", queue=routing.NOTIFICATION)

    @notification.handles(UserRegistered)
    def send_welcome(delivered: Delivered) -> None: ...

    @send_welcome.compensate
    def _(delivered: Delivered, error: BaseException) -> None: ...

or, for a batch consumer (audit), `@audit.handles_all` with a function taking a list.

`batch_size` is how many events one message carries. A per-event consumer with batch_size > 1
still applies, retries and dead-letters each event on its own; batching only saves messages
(each publish waits for the broker's confirm).

Each handler runs in one transaction together with the (consumer, event_id) claim, so a
redelivered event changes nothing; the events of one message share that transaction (one commit
per message) unless one of them fails, when each is applied again in its own. Failures: a
PermanentError or an invalid envelope is dead-lettered at once; anything else is retried with
exponential backoff and jitter, up to the consumer's max_retries, then dead-lettered. A batch that
fails for a reason other than the infrastructure is split in halves until the bad event is isolated.
A message whose outcome cannot be recorded (the database is unreachable) goes back to its queue
until it can be, without spending its events' retries (retries.py).

While an event is handled, structlog's context names it (correlation_id, event_id, event_type,
consumer, attempt): every log line, the handler's and Celery's own, carries them.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog
from celery import Task, signals
from django.conf import settings
from django.db import transaction

from identity_project.celery import app
from identity_project.eventbus import consumer_registry, deadletters, redelivery, retries, routing, wire
from identity_project.eventbus.catalog import Event, registry
from identity_project.eventbus.context import SYSTEM, event_context
from identity_project.eventbus.envelope import Delivered, EnvelopeInvalid, decode
from identity_project.eventbus.errors import is_infrastructure_failure, is_permanent
from identity_project.eventbus.idempotency import claim
from identity_project.eventbus.models import DeadLetter, DeliveryFailure
from identity_project.eventbus.retries import Attempt
from identity_project.metrics import ConsumerMetrics

log = structlog.get_logger(__name__)

LOG_KEYS = ("correlation_id", "event_id", "event_type", "consumer", "attempt")

# What the handlers of one message's events read once for them all (see once_per_message).
_message_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("message_memo", default=None)


def once_per_message(key: Hashable, compute: Callable[[], Any]) -> Any:
    """`compute()`, once for all the events of the message being consumed (outside a consumer, at
    every call): for what changes seldom and every event reads, such as notification's rules of
    an event type. A change made meanwhile is seen from the next message on."""
    memo = _message_memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


class Handler:
    """A consumer's function for some event types, with an optional compensation."""

    def __init__(self, fn: Callable[[Any], None]) -> None:
        self.fn = fn
        self.compensation: Callable[[Delivered, BaseException], None] | None = None

    def __call__(self, arg: Any) -> None:
        self.fn(arg)

    def compensate(self, fn: Callable[[Delivered, BaseException], None]):
        """Register what to undo when an event of this handler is dead-lettered."""
        self.compensation = fn
        return fn


@dataclass
class Failure:
    delivered: Delivered
    error: BaseException
    traceback: str


class Consumer:
    def __init__(
        self,
        name: str,
        *,
        queue: str,
        urgent_queue: str | None = None,
        batch_size: int = 1,
        max_retries: int | None = None,
    ) -> None:
        self.name = name
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
                self.dead_letter(failure, DeadLetter.Reason.RETRIES_EXHAUSTED, attempts=attempt + 1)
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

    def process(self, envelopes: Sequence[Any], attempt: int) -> list[Failure]:
        """Apply what can be applied; dead-letter what never can; return what to retry."""
        token = _message_memo.set({})
        try:
            return self._process(envelopes, attempt)
        finally:
            _message_memo.reset(token)

    def _process(self, envelopes: Sequence[Any], attempt: int) -> list[Failure]:
        decoded: list[Delivered] = []
        for raw in envelopes:
            try:
                decoded.append(decode(raw, attempt=attempt))
            except EnvelopeInvalid as exc:
                deadletters.store(
                    consumer=self.name,
                    envelope=raw,
                    reason=DeadLetter.Reason.PERMANENT,
                    error=f"invalid envelope: {exc}",
                    traceback="",
                    attempts=attempt + 1,
                )
        if self.batch_handler is not None:
            failures = [] if not decoded else self._apply_batch(decoded)
        else:
            failures = self._apply_each(decoded)

        to_retry = []
        for failure in failures:
            self._record_failure(failure)
            if is_permanent(failure.error):
                self.dead_letter(failure, DeadLetter.Reason.PERMANENT, attempts=attempt + 1)
            else:
                to_retry.append(failure)
        return to_retry

    def _apply_each(self, batch: list[Delivered]) -> list[Failure]:
        """A message's events, claimed together (one INSERT) and handled one by one, committed
        together: one claim and one commit per message instead of one per event. When any of them
        fails, that transaction is rolled back whole and each event is applied again in a
        transaction of its own, so a failure (and its retry or dead letter) is one event's alone.
        Handlers send after commit (on_commit), so nothing leaves the process twice."""
        if len(batch) > 1 and all(d.event_class.type in self.handlers for d in batch):
            started = time.monotonic()
            try:
                with transaction.atomic():
                    fresh = claim(self.name, [(d.event_id, d.occurred_at) for d in batch])
                    applied = []
                    for delivered in batch:
                        if delivered.event_id in fresh:
                            fresh.discard(delivered.event_id)  # an event twice in one message
                            self._run_handler(delivered)
                            applied.append(delivered)
            except Exception:  # noqa: BLE001 - applied again one by one, where the failure is kept
                log.info("consumer.message_split", consumer=self.name, events=len(batch))
            else:
                if applied:
                    self.metrics.handled((d.envelope["occurred_at"] for d in applied), started=started)
                return []
        return [f for d in batch if (f := self._apply_one(d)) is not None]

    def _apply_one(self, delivered: Delivered) -> Failure | None:
        if delivered.event_class.type not in self.handlers:
            return Failure(delivered, deadletters.NotSubscribed(self.name, delivered.event_class.type), "")
        started = time.monotonic()
        try:
            with transaction.atomic():
                applied = self._handle(delivered)
        except Exception as exc:  # noqa: BLE001 - every handler failure is retried or dead-lettered
            return Failure(delivered, exc, traceback.format_exc())
        if applied:
            self.metrics.handled([delivered.envelope["occurred_at"]], started=started)
        return None

    def _handle(self, delivered: Delivered) -> bool:
        """Claim the event and run its handler, in the caller's transaction; False if it was seen before."""
        if not claim(self.name, [(delivered.event_id, delivered.occurred_at)]):
            return False
        self._run_handler(delivered)
        return True

    def _run_handler(self, delivered: Delivered) -> None:
        with self._handling(delivered):
            self.handlers[delivered.event_class.type](delivered)

    def _apply_batch(self, batch: list[Delivered]) -> list[Failure]:
        started = time.monotonic()
        try:
            with transaction.atomic(), self._handling_batch(batch):
                fresh = claim(self.name, [(d.event_id, d.occurred_at) for d in batch])
                if applied := [d for d in batch if d.event_id in fresh]:
                    self.batch_handler(applied)
        except Exception as exc:  # noqa: BLE001 - every handler failure is retried or dead-lettered
            trace = traceback.format_exc()
            if len(batch) == 1:
                return [Failure(batch[0], exc, trace)]
            if is_infrastructure_failure(exc):
                return [Failure(d, exc, trace) for d in batch]
            middle = len(batch) // 2
            return self._apply_batch(batch[:middle]) + self._apply_batch(batch[middle:])
        if applied:
            self.metrics.handled((d.envelope["occurred_at"] for d in applied), started=started)
        return []

    @contextlib.contextmanager
    def _handling(self, delivered: Delivered):
        """Events a handler publishes belong to the same story as the event it handles; log lines
        meanwhile name the event."""
        with self._story(delivered), self._log_context(delivered):
            yield

    def _handling_batch(self, batch: list[Delivered]):
        """A batch of one is that event; a larger batch's lines name the consumer and attempt only."""
        return self._handling(batch[0]) if len(batch) == 1 else self._story(batch[0])

    @staticmethod
    def _story(delivered: Delivered):
        return event_context(
            correlation_id=delivered.correlation_id, actor=SYSTEM, causation_id=delivered.event_id
        )

    def _log_context(self, delivered: Delivered):
        return structlog.contextvars.bound_contextvars(
            **self.log_fields(delivered.envelope, delivered.attempt)
        )

    def log_fields(self, envelope: dict[str, Any], attempt: int) -> dict[str, Any]:
        return {
            "correlation_id": envelope.get("correlation_id"),
            "event_id": envelope.get("event_id"),
            "event_type": envelope.get("type"),
            "consumer": self.name,
            "attempt": attempt,
        }

    def _record_failure(self, failure: Failure) -> None:
        self.metrics.failed.inc()
        log.warning(
            "consumer.failed",
            consumer=self.name,
            event_id=str(failure.delivered.event_id),
            event_type=failure.delivered.event_class.type,
            correlation_id=failure.delivered.correlation_id,
            attempt=failure.delivered.attempt,
            error=repr(failure.error),
        )
        DeliveryFailure.objects.create(
            consumer=self.name,
            event_id=failure.delivered.event_id,
            event_type=failure.delivered.event_class.type,
            attempt=failure.delivered.attempt,
            error=repr(failure.error)[:2000],
            transient=not is_permanent(failure.error),
        )

    def dead_letter(self, failure: Failure, reason: str, *, attempts: int) -> None:
        delivered = failure.delivered
        with self._log_context(delivered):
            deadletters.store(
                consumer=self.name,
                envelope=delivered.published,
                reason=reason,
                error=repr(failure.error),
                traceback=failure.traceback,
                attempts=attempts,
            )
            handler = self.handlers.get(delivered.event_class.type) or self.batch_handler
            if handler is None or handler.compensation is None:
                return
            try:
                with transaction.atomic(), self._handling(delivered):
                    handler.compensation(delivered, failure.error)
            except Exception:
                log.exception("consumer.compensation_failed")


# --- the log context of a consumer's message, for Celery's own lines -------------------------
# Celery logs a task's outcome (succeeded, retry) after the task function returned: the context
# is bound before the task runs and removed after Celery is done with it.


@signals.task_prerun.connect
def _bind_message_log_context(task: Task, args: tuple = (), kwargs: dict | None = None, **_: object) -> None:
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
def _unbind_message_log_context(task: Task, **_: object) -> None:
    if consumer_registry.consumer_of_task(task) is not None:
        structlog.contextvars.unbind_contextvars(*LOG_KEYS)
