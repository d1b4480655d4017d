"""Rows being sent are locked: another relay skips them, and the fast path, which waits for them,
does not send them again once the first sender committed."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import _mark_dispatched, dispatch_pending
from identity_project.eventbus.relay import relay_once
from tests.eventbus.test_relay import pending, publish_in_a_process

pytestmark = pytest.mark.django_db(transaction=True)


class Sender(threading.Thread):
    """A sender on a connection of its own, holding its rows until told to commit."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.holding = threading.Event()
        self.commit = threading.Event()
        self.taken = 0

    def run(self) -> None:
        try:
            with transaction.atomic():
                rows = OutboxEvent.objects.select_for_update(skip_locked=True)
                self.taken = len(_mark_dispatched(rows, None))
                self.holding.set()
                self.commit.wait(timeout=30)
        finally:
            connections.close_all()


class FastPath(threading.Thread):
    def __init__(self, ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.ids = ids
        self.sent: int | None = None

    def run(self) -> None:
        try:
            self.sent = dispatch_pending(OutboxEvent.objects.filter(pk__in=self.ids))
        finally:
            connections.close_all()


def _waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_rows_held_by_one_sender_are_skipped_by_a_relay_and_not_sent_again_by_the_fast_path():
    # given three pending rows, taken by a sender that has not committed yet
    publish_in_a_process(3, "locking", EVENTBUS_FAST_PATH="false")
    ids = list(OutboxEvent.objects.values_list("pk", flat=True))
    sender = Sender()
    sender.start()
    assert sender.holding.wait(timeout=30)
    assert sender.taken == 3

    # when a relay runs meanwhile, and the fast path tries the same rows
    skipped_by_relay = relay_once(grace=0)
    fast_path = FastPath(ids)
    fast_path.start()
    deadline = time.monotonic() + 30
    while _waiting_for_a_lock() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting_for_a_lock() == 1, "the fast path should wait for the sender's row locks"
    sender.commit.set()
    sender.join(timeout=30)
    fast_path.join(timeout=30)

    # then the relay skipped the held rows at once, the fast path found them sent, and each row
    # was marked dispatched by the first sender only
    assert skipped_by_relay == 0
    assert fast_path.sent == 0
    assert pending() == 0
    assert OutboxEvent.objects.filter(attempts__gt=0).count() == 0
