"""The outbox relay: the only sender of committed events (and of the tasks started with
publisher.enqueue), oldest first.

A round reads up to BATCH_SIZE rows (a plain SELECT, no row lock), sends them (one message per
consumer queue and batch, every broker call under BROKER_TIMEOUT), then deletes them: the outbox
holds only what is still to be sent, and the audit trail keeps every event. Nothing is locked
while the relay waits on the network, so neither a request nor a task ever waits on the relay.

Crash between send and delete: the rows are sent again (at least once; consumers are idempotent
on event_id). Several relays may run for failover: on PostgreSQL the one holding a session-level
advisory lock sends and the others wait to take over (its session ends with its process or its
connection, and the lock with it). Two senders at once would only send duplicates.

Between rounds the relay sleeps on its doorbell (doorbell.py) for at most RELAY_INTERVAL: a
commit rings it, so an event leaves within milliseconds of its commit and an idle relay polls
only every RELAY_INTERVAL. While commits keep coming, rounds that send are RELAY_LINGER apart at
least: a ring that comes sooner waits out the rest, and the commits meanwhile travel with it, in
one message per consumer instead of one each. The first event after a quiet spell leaves at once.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import structlog
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F

from identity_project import metrics
from identity_project.celery import app
from identity_project.eventbus import consumer_registry, deadletters, doorbell, failover
from identity_project.eventbus.models import OutboxEvent, OutboxTask

log = structlog.get_logger(__name__)

# Any 64-bit number no other part of the platform uses as an advisory lock: "relay" in ASCII.
LEADER_LOCK = 0x72656C6179


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def dispatch(envelopes: Sequence[dict[str, Any]], producer=None) -> None:
    """Send each envelope to every consumer that wants its type now (Consumer.route_committed):
    one message per batch_size events of a consumer, on `producer` (or one of the app's pool).
    Raises when the broker refuses, cannot be reached or misses the deadline."""
    if producer is None:
        with app.producer_or_acquire() as acquired:
            return dispatch(envelopes, acquired)
    timeout = settings.EVENTBUS["BROKER_TIMEOUT"]
    for consumer in consumer_registry.all_consumers():
        for queue, group in consumer.route_committed(envelopes):
            for chunk in _chunks(group, consumer.batch_size):
                consumer.send(chunk, queue=queue, producer=producer, timeout=timeout)


def pending_rows(limit: int) -> list[tuple[int, dict[str, Any]]]:
    """(id, envelope) of the oldest `limit` rows: plain tuples, since the relay takes thousands of
    rows a second and needs nothing else of them."""
    if connection.vendor != "postgresql":
        return list(OutboxEvent.objects.order_by("pk").values_list("pk", "envelope")[:limit])
    # The envelope as text, parsed here once, instead of psycopg's jsonb loader and Django's.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, envelope::text FROM {OutboxEvent._meta.db_table} ORDER BY id LIMIT %s",  # nosec B608
            [limit],
        )
        return [(pk, json.loads(envelope)) for pk, envelope in cursor.fetchall()]


def _delete(model: type[OutboxEvent | OutboxTask], ids: list[int]) -> None:
    """Delete the rows sent. On PostgreSQL the ids travel as one array: the ORM's `pk__in` of a
    thousand ids prepared each one through the field (a quarter of the relay's time in py-spy)."""
    if connection.vendor != "postgresql":
        model.objects.filter(pk__in=ids).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = ANY(%s)", [ids])  # nosec B608


class Relay:
    """The long-running loop of `manage.py relay_outbox`."""

    def __init__(
        self, *, interval: float | None = None, batch_size: int | None = None, drain_every: float = 10.0
    ) -> None:
        self.interval = settings.EVENTBUS["RELAY_INTERVAL"] if interval is None else interval
        self.linger = settings.EVENTBUS["RELAY_LINGER"]
        self.batch_size = batch_size or settings.EVENTBUS["BATCH_SIZE"]
        self.drain_every = drain_every
        self.stopping = False
        self.failures = 0
        self._broker = None
        self._leader_of = None  # the database connection that holds the leader lock
        self.doorbell = doorbell.Doorbell(doorbell.listening_address())

    def stop(self, *_: object) -> None:
        self.stopping = True

    # --- one round ------------------------------------------------------------------------

    def leading(self) -> bool:
        """Whether this relay is the one that sends (always, off PostgreSQL)."""
        if connection.vendor != "postgresql":
            return True
        connection.ensure_connection()
        if self._leader_of is connection.connection:
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK])
            leading = cursor.fetchone()[0]
        if leading:
            self._leader_of = connection.connection
            log.info("relay.leading")
        return leading

    def relay_once(self) -> int:
        """Send one batch of pending rows, events and tasks; return how many were sent. Raises if
        the broker fails."""
        return self._send_events() + self._send_tasks()

    def _send_tasks(self) -> int:
        """One message per task, on the queue it was started for."""
        tasks = list(OutboxTask.objects.order_by("pk")[: self.batch_size])
        if not tasks:
            return 0
        ids = [task.pk for task in tasks]
        try:
            producer = self._producer()
            for task in tasks:
                app.send_task(
                    task.name, args=task.args, queue=task.queue, producer=producer, retry=False,
                    timeout=settings.EVENTBUS["BROKER_TIMEOUT"],
                )  # fmt: skip
        except Exception as exc:
            self._failed(OutboxTask, ids, exc)
            raise
        _delete(OutboxTask, ids)
        return len(tasks)

    def _send_events(self) -> int:
        rows = pending_rows(self.batch_size)
        if not rows:
            return 0
        ids = [pk for pk, _ in rows]
        envelopes = [envelope for _, envelope in rows]
        try:
            dispatch(envelopes, self._producer())
        except Exception as exc:
            self._failed(OutboxEvent, ids, exc)
            raise
        _delete(OutboxEvent, ids)
        metrics.events_published(envelope["type"] for envelope in envelopes)
        return len(rows)

    def _failed(self, model: type[OutboxEvent | OutboxTask], ids: list[int], error: Exception) -> None:
        """The rows stay, with the failure counted on them; the broker connection goes."""
        self._forget_broker()
        model.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1, last_error=repr(error)[:2000])

    def _producer(self):
        """A producer on the relay's own broker connection, opened once and kept: every round on a
        fresh connection would pay the broker's handshake. Connecting has the same deadline, and
        tries each node of a failover list: after a failure the next connection starts again at
        the first node and moves on to one that serves."""
        if self._broker is None:
            connection_ = app.connection_for_write(connect_timeout=settings.EVENTBUS["BROKER_TIMEOUT"])
            connection_.ensure_connection(max_retries=failover.connect_retries(app.conf.broker_url))
            self._broker = (connection_, connection_.Producer())
            log.info("relay.connected", broker=failover.reached(connection_))
        return self._broker[1]

    def _forget_broker(self) -> None:
        """After a failure the connection may hold a late confirm or be half closed: drop it."""
        if self._broker is not None:
            try:
                self._broker[0].collect()
            finally:
                self._broker = None

    # --- the loop -------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        sent_total, last_drain, last_sent_at = 0, 0.0, 0.0
        log.info("relay.started", interval=self.interval, doorbell=self.doorbell.address)
        while not self.stopping:
            close_old_connections()
            try:
                if not self.leading():
                    # A relay that lost the lead (its connection went) leaves the doorbell to the leader.
                    self.doorbell.close()
                    if once:
                        log.info("relay.standing_by", reason="another relay sends")
                        break
                    self._sleep(self.interval)
                    continue
                self.doorbell.open()
                sent = self.relay_once()
                if time.monotonic() - last_drain > self.drain_every:
                    deadletters.drain_dead_letter_queues()
                    last_drain = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the relay outlives any outage and retries
                self.failures += 1
                delay = min(settings.EVENTBUS["RELAY_RETRY_MAX"], 0.5 * 2 ** min(self.failures, 6))
                log.warning("relay.failed", error=repr(exc), retry_in=delay)
                self._sleep(delay)
                continue
            if self.failures:
                log.info("relay.recovered", after_failures=self.failures)
                self.failures = 0
            sent_total += sent
            if sent:
                last_sent_at = time.monotonic()
                log.info("relay.sent", events=sent)
            if once and sent < self.batch_size:
                break
            if sent < self.batch_size and self.doorbell.wait(self.interval):
                self._sleep(last_sent_at + self.linger - time.monotonic())
        self.doorbell.close()
        self._forget_broker()
        log.info("relay.stopped", sent=sent_total)
        return sent_total

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))
