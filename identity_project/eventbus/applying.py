"""Applying a consumer's message: its events claimed and handled in transactions (one per
message while all goes well, one per event once one fails), a batch consumer's batch split in
halves until the bad event is isolated, and each failure recorded, then retried or
dead-lettered (with the handler's compensation). The consumer base (consumers.py) declares what a
consumer handles and runs its task; this module is what the task does with a message.
"""

from __future__ import annotations

import contextlib
import time
import traceback
import uuid
from collections.abc import Callable, Hashable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from django.db import transaction

from identity_project.eventbus import deadletters
from identity_project.eventbus.context import SYSTEM, event_context
from identity_project.eventbus.envelope import Delivered, EnvelopeInvalid, decode
from identity_project.eventbus.errors import is_infrastructure_failure, is_permanent
from identity_project.eventbus.idempotency import claim
from identity_project.eventbus.models import DeadLetter, DeliveryFailure

if TYPE_CHECKING:
    from identity_project.eventbus.consumers import Consumer

log = structlog.get_logger(__name__)

# What the handlers of one message's events read once for them all (see once_per_message).
_message_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("message_memo", default=None)
# The events of the message being consumed, for reads that serve them all (see message_events).
_message_events: ContextVar[Sequence[Delivered]] = ContextVar("message_events", default=())


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


def message_events() -> Sequence[Delivered]:
    """The events of the message being consumed (none outside a consumer): a handler that reads
    one row per event can read the rows of them all in one query, once (with once_per_message)."""
    return _message_events.get()


@dataclass
class Failure:
    delivered: Delivered
    error: BaseException
    traceback: str


def process(consumer: Consumer, envelopes: Sequence[Any], attempt: int) -> list[Failure]:
    """Apply what can be applied; dead-letter what never can; return what to retry."""
    token = _message_memo.set({})
    try:
        return _process(consumer, envelopes, attempt)
    finally:
        _message_memo.reset(token)


def _process(consumer: Consumer, envelopes: Sequence[Any], attempt: int) -> list[Failure]:
    decoded: list[Delivered] = []
    for raw in envelopes:
        try:
            decoded.append(decode(raw, attempt=attempt))
        except EnvelopeInvalid as exc:
            deadletters.store(
                consumer=consumer.name,
                envelope=raw,
                reason=DeadLetter.Reason.PERMANENT,
                error=f"invalid envelope: {exc}",
                traceback="",
                attempts=attempt + 1,
            )
    token = _message_events.set(decoded)
    try:
        if consumer.batch_handler is not None:
            failures = [] if not decoded else _apply_batch(consumer, decoded)
        else:
            failures = _apply_each(consumer, decoded)
    finally:
        _message_events.reset(token)

    to_retry = []
    for failure in failures:
        _record_failure(consumer, failure)
        if is_permanent(failure.error):
            dead_letter(consumer, failure, DeadLetter.Reason.PERMANENT, attempts=attempt + 1)
        else:
            to_retry.append(failure)
    return to_retry


def _apply_each(consumer: Consumer, batch: list[Delivered]) -> list[Failure]:
    """A message's events, claimed together (one INSERT) and handled one by one, committed
    together: one claim and one commit per message instead of one per event. When any of them
    fails, that transaction is rolled back whole and each event is applied again in a
    transaction of its own, so a failure (and its retry or dead letter) is one event's alone.
    Handlers send after commit (on_commit), so nothing leaves the process twice."""
    if len(batch) > 1 and all(d.event_class.type in consumer.handlers for d in batch):
        started = time.monotonic()
        try:
            with transaction.atomic():
                fresh = claim(consumer.name, [(d.event_id, d.occurred_at) for d in batch])
                applied = []
                for delivered in batch:
                    if delivered.event_id in fresh:
                        fresh.discard(delivered.event_id)  # an event twice in one message
                        _run_handler(consumer, delivered)
                        applied.append(delivered)
        except Exception:  # noqa: BLE001 - applied again one by one, where the failure is kept
            log.info("consumer.message_split", consumer=consumer.name, events=len(batch))
        else:
            if applied:
                consumer.metrics.handled((d.envelope["occurred_at"] for d in applied), started=started)
            return []
    return [f for d in batch if (f := _apply_one(consumer, d)) is not None]


def _apply_one(consumer: Consumer, delivered: Delivered) -> Failure | None:
    if delivered.event_class.type not in consumer.handlers:
        return Failure(delivered, deadletters.NotSubscribed(consumer.name, delivered.event_class.type), "")
    started = time.monotonic()
    try:
        with transaction.atomic():
            applied = _handle(consumer, delivered)
    except Exception as exc:  # noqa: BLE001 - every handler failure is retried or dead-lettered
        return Failure(delivered, exc, traceback.format_exc())
    if applied:
        consumer.metrics.handled([delivered.envelope["occurred_at"]], started=started)
    return None


def _handle(consumer: Consumer, delivered: Delivered) -> bool:
    """Claim the event and run its handler, in the caller's transaction; False if it was seen before."""
    if not claim(consumer.name, [(delivered.event_id, delivered.occurred_at)]):
        return False
    _run_handler(consumer, delivered)
    return True


def _claim(consumer: Consumer, batch: Sequence[Delivered]) -> set[uuid.UUID]:
    """The events of a batch consumer's `batch` it has not handled before, claimed in the current
    transaction; all of them for one whose own rows are its record (records.py: only a batch
    consumer may), whose handler skips what it stored."""
    if not consumer.record.claims:
        return {d.event_id for d in batch}
    return claim(consumer.name, [(d.event_id, d.occurred_at) for d in batch])


def _run_handler(consumer: Consumer, delivered: Delivered) -> None:
    with handling(consumer, delivered):
        consumer.handlers[delivered.event_class.type](delivered)


def _apply_batch(consumer: Consumer, batch: list[Delivered]) -> list[Failure]:
    started = time.monotonic()
    try:
        with transaction.atomic(), _handling_batch(consumer, batch):
            fresh = _claim(consumer, batch)
            if applied := [d for d in batch if d.event_id in fresh]:
                stored = consumer.batch_handler(applied)
                if not consumer.record.claims:  # the handler skipped what it had stored before
                    applied = [d for d in applied if d.event_id in stored]
    except Exception as exc:  # noqa: BLE001 - every handler failure is retried or dead-lettered
        trace = traceback.format_exc()
        if len(batch) == 1:
            return [Failure(batch[0], exc, trace)]
        if is_infrastructure_failure(exc):
            return [Failure(d, exc, trace) for d in batch]
        middle = len(batch) // 2
        return _apply_batch(consumer, batch[:middle]) + _apply_batch(consumer, batch[middle:])
    if applied:
        consumer.metrics.handled((d.envelope["occurred_at"] for d in applied), started=started)
    return []


@contextlib.contextmanager
def handling(consumer: Consumer, delivered: Delivered):
    """Events a handler publishes belong to the same story as the event it handles; log lines
    meanwhile name the event."""
    with _story(delivered), log_context(consumer, delivered):
        yield


def _handling_batch(consumer: Consumer, batch: list[Delivered]):
    """A batch of one is that event; a larger batch's lines name the consumer and attempt only."""
    return handling(consumer, batch[0]) if len(batch) == 1 else _story(batch[0])


def _story(delivered: Delivered):
    return event_context(
        correlation_id=delivered.correlation_id, actor=SYSTEM, causation_id=delivered.event_id
    )


def log_context(consumer: Consumer, delivered: Delivered):
    return structlog.contextvars.bound_contextvars(
        **consumer.log_fields(delivered.envelope, delivered.attempt)
    )


def _record_failure(consumer: Consumer, failure: Failure) -> None:
    consumer.metrics.failed.inc()
    log.warning(
        "consumer.failed",
        consumer=consumer.name,
        event_id=str(failure.delivered.event_id),
        event_type=failure.delivered.event_class.type,
        correlation_id=failure.delivered.correlation_id,
        attempt=failure.delivered.attempt,
        error=repr(failure.error),
    )
    DeliveryFailure.objects.create(
        consumer=consumer.name,
        event_id=failure.delivered.event_id,
        event_type=failure.delivered.event_class.type,
        attempt=failure.delivered.attempt,
        error=repr(failure.error)[:2000],
        transient=not is_permanent(failure.error),
    )


def dead_letter(consumer: Consumer, failure: Failure, reason: str, *, attempts: int) -> None:
    delivered = failure.delivered
    with log_context(consumer, delivered):
        deadletters.store(
            consumer=consumer.name,
            envelope=delivered.published,
            reason=reason,
            error=repr(failure.error),
            traceback=failure.traceback,
            attempts=attempts,
        )
        handler = consumer.handlers.get(delivered.event_class.type) or consumer.batch_handler
        if handler is None or handler.compensation is None:
            return
        try:
            with transaction.atomic(), handling(consumer, delivered):
                handler.compensation(delivered, failure.error)
        except Exception:
            log.exception("consumer.compensation_failed")
