"""The outbox relay: sends what the on-commit fast path could not, oldest first.

Rows are taken with FOR UPDATE SKIP LOCKED, so several relays can run side by side without
sending a row twice at once; a row is marked dispatched in the transaction that sends it, which
commits once the broker confirmed every message. Rows younger than RELAY_GRACE are left to the
fast path.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from identity_project.eventbus import deadletters
from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import dispatch_pending

log = structlog.get_logger(__name__)


def relay_once(*, batch_size: int | None = None, grace: float | None = None) -> int:
    """Send one batch of pending rows; return how many were sent. Raises if the broker fails."""
    batch_size = batch_size or settings.EVENTBUS["BATCH_SIZE"]
    grace = settings.EVENTBUS["RELAY_GRACE"] if grace is None else grace
    cutoff = timezone.now() - timedelta(seconds=grace)
    return dispatch_pending(
        OutboxEvent.objects.select_for_update(skip_locked=True).filter(created_at__lte=cutoff),
        limit=batch_size,
    )


class Relay:
    """The long-running loop of `manage.py relay_outbox`."""

    def __init__(self, *, interval: float | None = None, drain_every: float = 10.0) -> None:
        self.interval = settings.EVENTBUS["RELAY_INTERVAL"] if interval is None else interval
        self.drain_every = drain_every
        self.stopping = False
        self.failures = 0

    def stop(self, *_: object) -> None:
        self.stopping = True

    def run(self, *, once: bool = False) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        sent_total, last_drain = 0, 0.0
        log.info("relay.started", interval=self.interval)
        while not self.stopping:
            close_old_connections()
            try:
                sent = relay_once()
                if time.monotonic() - last_drain > self.drain_every:
                    deadletters.drain_dead_letter_queues()
                    last_drain = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the relay outlives any outage and retries
                self.failures += 1
                delay = min(30.0, 0.5 * 2 ** min(self.failures, 6))
                log.warning("relay.failed", error=repr(exc), retry_in=delay)
                self._sleep(delay)
                continue
            if self.failures:
                log.info("relay.recovered", after_failures=self.failures)
                self.failures = 0
            sent_total += sent
            if sent:
                log.info("relay.sent", events=sent)
            if once and not sent:
                break
            if not sent:
                self._sleep(self.interval)
        log.info("relay.stopped", sent=sent_total)
        return sent_total

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))
