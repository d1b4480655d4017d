"""Claim, send, conclude: the life of every outbound record, whatever its channel.

- pending: written in the transaction that decided the send (a consumer's, in a worker); sent
  by that worker after it commits, or by a send task written beside it (send_after_commit), one
  task for up to SEND_CHUNK of them.
- sending: claimed by a conditional UPDATE that sets a claim token and a lease longer than the
  attempt's total deadline. A second message for the same record finds nothing to claim and
  looks again when the lease ends: one record is never in flight twice.
- sent / skipped; or pending again with a next attempt after a backoff with jitter, sent by the
  `eventbus.outbound.send` task; or failed (refused for good, or retries spent) and dead-lettered
  under the channel's name, whose replay sends the event's failed records again.
Every conclusion is an UPDATE conditioned on the claim token: an attempt whose lease ended and
whose record was taken over changes nothing. A record asked to go again while in flight goes
again, with fresh retries, once that attempt ends. Sending is at least once: a worker that dies
after the peer accepted and before the record says sent leaves a lease that ends, and the
record is sent again.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from functools import partial

import structlog
from celery import Task, shared_task
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from identity_project.eventbus import deadletters
from identity_project.eventbus.errors import DATABASE_UNAVAILABLE
from identity_project.eventbus.models import DeadLetter
from identity_project.eventbus.outbound.channel import (
    SEND,
    SKIP,
    Channel,
    Defer,
    Outcome,
    channel_named,
)
from identity_project.eventbus.outbound.records import OutboundRecord, Status
from identity_project.eventbus.publisher import enqueue
from identity_project.eventbus.retries import backoff, lane

log = structlog.get_logger(__name__)

# A message may come a little before its record's next attempt (clocks, countdown rounding).
EARLY = dt.timedelta(seconds=2)

# The records one send task attempts in turn, at most: a task costs the relay and the broker about
# what a delivery to a nearby receiver costs, and slow receivers hold its worker for at most this
# many attempt deadlines (20 x 25 s by default: inside RabbitMQ's consumer timeout and Redis's).
SEND_CHUNK = 20


# --- starting a send ------------------------------------------------------------------------


def send_after_commit(channel: Channel, **where: object) -> None:
    """In a worker's transaction: once it commits, send the channel's pending records matching
    `where` (an event's), here, without another trip through the broker; or, for a channel
    that does not send inline, give each to a send task, written to the task outbox in this
    transaction: a worker killed between its commit and a publish would have taken the task
    along, and the record would have waited for the sweep. The relay sends it at once.

    The records are read now, inside the transaction: after commit the database may be gone
    (a dropped connection), and a record nobody was told about would wait for the sweep."""
    records = channel.records().filter(channel.claimable(), status=Status.PENDING, **where)
    pending = list(records.order_by("pk"))
    if not channel.send_inline:
        by_queue: dict[str, list[int]] = {}
        for record in pending:
            by_queue.setdefault(channel.queue(record), []).append(record.pk)
        for queue, ids in by_queue.items():
            for start in range(0, len(ids), SEND_CHUNK):
                enqueue(send, channel.name, ids[start : start + SEND_CHUNK], queue=queue)
    elif pending:
        transaction.on_commit(partial(_send_pending, channel, pending), robust=True)


def _send_pending(channel: Channel, pending: list[OutboundRecord]) -> None:
    for record in pending:
        try:
            attempt(channel, record.pk)
        except DATABASE_UNAVAILABLE as exc:  # the database: a send task retries
            log.warning("outbound.inline_failed", channel=channel.name, record_id=record.pk, error=repr(exc))
            schedule(channel, record, 0)


def schedule(channel: Channel, record: OutboundRecord, countdown: float) -> None:
    """A send task for later. If the broker cannot take it now (down, without a majority for its
    queue, blocking publishers), the task goes through the task outbox as a request's tasks do,
    and the relay sends it once the broker is back; it may then come before the record is due,
    and waits (attempt). Only if the database cannot take it either does the record wait for the
    sweep, minutes later."""
    try:
        queue = channel.queue(record)
        send.apply_async((channel.name, record.pk), countdown=countdown or None, queue=queue, retry=False)
        return
    except Exception as exc:  # noqa: BLE001 - whatever the broker says, the outbox takes the task
        log.warning("outbound.not_scheduled", channel=channel.name, record_id=record.pk, error=repr(exc))
    try:
        enqueue(send, channel.name, record.pk, queue=channel.queue(record))
    except DatabaseError as exc:  # the row stays pending: the sweep sends it
        log.warning("outbound.left_to_sweep", channel=channel.name, record_id=record.pk, error=repr(exc))


# --- one attempt ----------------------------------------------------------------------------


def attempt(channel: Channel, record_id: int, *, claimable: Q | None = None) -> str | float:
    """Send one record if it can be claimed: its status afterwards, or, when another attempt
    holds it, the seconds until that attempt's lease ends (it may have died with its worker).
    `claimable`: for a channel that resumes records of its own choosing, instead of its default."""
    claimable = channel.claimable() if claimable is None else claimable
    claimed = _claim(channel, record_id, claimable)
    if claimed is None:
        return _wait_left(channel, record_id, claimable)
    record, claim = claimed
    decision = channel.before(record)
    if decision != SEND:
        return _set_aside(channel, record, claim, decision)
    policy = channel.policy()
    started = time.monotonic()
    try:
        outcome = channel.send(record, deadline=policy.deadline)
    except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered, never lost
        outcome = channel.outcome_of(exc)
    duration_ms = round((time.monotonic() - started) * 1000)
    status = _conclude(channel, record, claim, outcome, duration_ms)
    log.info(
        "outbound.attempt",
        channel=channel.name,
        record_id=record.pk,
        event_id=str(record.event_id),
        attempt=record.attempts,
        status=status,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=duration_ms,
    )
    return status


def _claim(channel: Channel, record_id: int, claimable: Q):
    now = timezone.now()
    claim = uuid.uuid4()
    takeable = Q(status=Status.PENDING, next_attempt_at__lte=now + EARLY)
    takeable |= Q(status=Status.SENDING, lease_until__lt=now)
    claimed = (
        channel.records()
        .filter(takeable, claimable, pk=record_id)
        .update(
            status=Status.SENDING,
            claim=claim,
            lease_until=now + dt.timedelta(seconds=channel.policy().lease),
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None
    return channel.model.objects.select_related(*channel.related()).get(pk=record_id), claim


def _wait_left(channel: Channel, record_id: int, claimable: Q) -> str | float:
    """Seconds until the record can be claimed: another attempt's lease ends (it may have died
    with its worker), or its next attempt is due (this message came early, from the task outbox
    after a broker outage). "skipped" when there is nothing to wait for: sent, given up, or not
    the channel's to send now (a resume takes it then)."""
    now = timezone.now()
    leased = Q(status=Status.SENDING, lease_until__gte=now)
    due_later = Q(status=Status.PENDING, next_attempt_at__gt=now + EARLY) & claimable
    rows = channel.records().filter(leased | due_later, pk=record_id)
    row = rows.values_list("status", "lease_until", "next_attempt_at").first()
    if row is None:
        return "skipped"
    status, lease_until, next_attempt_at = row
    until = lease_until if status == Status.SENDING else next_attempt_at
    return (until - now).total_seconds() + 1


def _mine(channel: Channel, record: OutboundRecord, claim: uuid.UUID):
    return channel.model.objects.filter(pk=record.pk, claim=claim)


_RELEASED = {"claim": None, "lease_until": None}


def _set_aside(channel: Channel, record: OutboundRecord, claim: uuid.UUID, decision: str | Defer) -> str:
    """Not sent now: skipped for good, or deferred as the channel says (no attempt counted)."""
    mine = _mine(channel, record, claim)
    if decision == SKIP:
        mine.update(status=Status.SKIPPED, **channel.released, **_RELEASED)
        return Status.SKIPPED
    if mine.update(status=Status.PENDING, attempts=F("attempts") - 1, **decision.fields, **_RELEASED):
        _then(decision)
    return Status.PENDING


def _then(defer: Defer) -> None:
    if defer.then is not None:
        defer.then()


def _conclude(
    channel: Channel, record: OutboundRecord, claim: uuid.UUID, outcome: Outcome, duration_ms: int
) -> str:
    if not outcome.skipped:
        channel.attempt_model.objects.create(
            record=record,
            duration_ms=duration_ms,
            status_code=outcome.status_code,
            response_body=outcome.response_body,
            error=outcome.error,
            counted=outcome.counted,
        )
    now = timezone.now()
    mine = _mine(channel, record, claim)
    attempts = record.attempts if outcome.counted else record.attempts - 1
    released = {**channel.released, **_RELEASED}
    again = {"attempts": 0, "again": False, "next_attempt_at": now, "last_error": outcome.error}
    if mine.filter(again=True).update(status=Status.PENDING, **again, **released):
        schedule(channel, record, 0)
        status = Status.PENDING
    elif outcome.ok or outcome.skipped:
        status = channel.sent_status if outcome.ok else Status.SKIPPED
        updated = mine.update(status=status, sent_at=now if outcome.ok else None, last_error="", **released)
        status = status if updated else "lease_lost"
    elif outcome.defer is not None:
        fields = {"attempts": attempts, "last_error": outcome.error, **outcome.defer.fields}
        updated = mine.update(status=Status.PENDING, **fields, **_RELEASED)
        if updated:
            _then(outcome.defer)
        status = Status.PENDING if updated else "lease_lost"
    elif outcome.permanent or attempts >= channel.policy().max_attempts:
        status = _give_up(channel, record, mine, outcome, attempts)
    else:
        policy = channel.policy()
        countdown = backoff(max(0, attempts - 1), factor=policy.backoff_factor, maximum=policy.backoff_max)
        updated = mine.update(
            status=Status.PENDING,
            attempts=attempts,
            next_attempt_at=now + dt.timedelta(seconds=countdown),
            last_error=outcome.error,
            **released,
        )
        if updated:
            schedule(channel, record, countdown)
        status = Status.PENDING if updated else "lease_lost"
    return status


def _give_up(channel: Channel, record: OutboundRecord, mine, outcome: Outcome, attempts: int) -> str:
    released = {**channel.released, **_RELEASED}
    if not mine.update(status=Status.FAILED, attempts=attempts, last_error=outcome.error, **released):
        return "lease_lost"
    deadletters.store(
        consumer=channel.name,
        envelope=channel.envelope(record),
        reason=DeadLetter.Reason.PERMANENT if outcome.permanent else DeadLetter.Reason.RETRIES_EXHAUSTED,
        error=f"{channel.describe(record)} failed {attempts} times: {outcome.error}",
        traceback="",
        attempts=attempts,
    )
    channel.given_up(record)
    return Status.FAILED


# --- the task ------------------------------------------------------------------------------


@shared_task(
    name="eventbus.outbound.send",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the record counts its own retries
    ignore_result=True,
)
def send(task: Task, channel_name: str, record_ids: int | list[int]) -> None:
    """Attempt one record, or several in turn (a consumer's records of one queue, SEND_CHUNK at
    most). When the database goes away, the records not attempted yet go back together; records
    another attempt holds, or that are due later, go back together after the longest such wait."""
    channel = channel_named(channel_name)
    queue = lane(task, default=None)
    ids = [record_ids] if isinstance(record_ids, int) else list(record_ids)
    waiting: dict[int, float] = {}
    for n, record_id in enumerate(ids):
        try:
            result = attempt(channel, record_id)
        except DATABASE_UNAVAILABLE as exc:  # the database, not the record: later
            countdown = backoff(task.request.retries, factor=1, maximum=60)
            again = [*waiting, *ids[n:]]
            raise task.retry(args=(channel_name, again), exc=exc, countdown=countdown, queue=queue) from exc
        if isinstance(result, float):
            waiting[record_id] = result
    if waiting:
        raise task.retry(args=(channel_name, list(waiting)), countdown=max(waiting.values()), queue=queue)
