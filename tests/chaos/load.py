"""The load of a chaos scenario: real sign-ins through the API, between bulk transactions of events.

The burst runs in a thread with its own database connection, so that the test injects its fault
while events are still being committed. Every tenth bulk event is a role assignment to a real
user: each of those must end as exactly one in-app notification and one webhook delivery."""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from identity.events import RoleAssignedToUser, UserLoggedIn
from identity.models import User
from identity.services.accounts import user_register
from identity_project.eventbus.errors import DATABASE_UNAVAILABLE
from identity_project.eventbus.publisher import publish
from tests.support import ledger

PASSWORD = "Correct-Horse-Battery-9"
EVENTS_PER_TRANSACTION = 100
MARKED_EVERY = 10
# With tolerate_outages: how long one step is tried again while the database is down, and the
# longest pause between two tries (the pauses double from a tenth of a second up to it, so that
# a sign-in tried again stays far below its account's throttle).
OUTAGE_LIMIT = 120.0
OUTAGE_PAUSE_MAX = 1.0


T = TypeVar("T")


def register_users(count: int) -> list[User]:
    """The users who sign in during the burst (each once, from an address of its own, so the
    per-account and per-address throttles never refuse one)."""
    run = uuid.uuid4().hex[:8]
    return [user_register(email=f"chaos-{run}-{i}@example.com", password=PASSWORD) for i in range(count)]


def _bulk_event(users: list[User], i: int):
    if i % MARKED_EVERY == 0:
        return RoleAssignedToUser(role_id=uuid.uuid4(), user_id=users[i % len(users)].pk)
    return UserLoggedIn(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        ip_address="203.0.113.7",
        user_agent="chaos/1.0",
        mfa_used=False,
        door="api",
        method="password",
        device_id=None,
    )


class Burst(threading.Thread):
    """Commits about `events` events: sign-ins of `users` spread between transactions of
    EVENTS_PER_TRANSACTION bulk events. `committed` counts them as they commit, from the ledger
    (the relay empties the outbox as it sends). With `tolerate_outages` a transaction, a sign-in
    or a count the database failed (down, restarting, its connection dropped) is tried again
    until it goes through, as a client of the platform would."""

    def __init__(self, *, events: int, users: list[User], tolerate_outages: bool = False) -> None:
        super().__init__(name="chaos-burst", daemon=True)
        self.target = events
        self.users = users
        self.tolerate_outages = tolerate_outages
        # Steps the database failed and that were tried again (tolerate_outages).
        self.outage_retries = 0
        self._bulk = 0
        self.committed = ledger.committed_count()
        self.logins_refused: list[int] = []
        self.error: BaseException | None = None
        self._abandoned = threading.Event()

    def progress(self) -> float:
        return self.committed / self.target

    def wait_until(self, fraction: float) -> None:
        """Block until that share of the burst is committed (or the burst is over)."""
        while self.is_alive() and self.progress() < fraction:
            time.sleep(0.05)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by finish(), in the test's thread
            self.error = exc
        finally:
            connection.close()

    def finish(self) -> None:
        self.join()
        if self.error is not None:
            raise AssertionError(f"the burst failed: {self.error!r}") from self.error
        assert not self.logins_refused, f"sign-ins refused: {self.logins_refused[:5]}"

    def abandon(self, timeout: float = 30.0) -> None:
        """Stop between two steps and wait for the thread: a test that failed mid-burst must not
        leave it trying on, against a database the test's teardown has moved on to."""
        self._abandoned.set()
        self.join(timeout)

    def _run(self) -> None:
        transactions = max(1, math.ceil(self.target / EVENTS_PER_TRANSACTION))
        per_transaction = math.ceil(len(self.users) / transactions)
        logins = list(enumerate(self.users))
        while (self.committed < self.target or logins) and not self._abandoned.is_set():
            for number, user in logins[:per_transaction]:
                self._sign_in(user, number)
            del logins[:per_transaction]
            count = min(EVENTS_PER_TRANSACTION, self.target - self.committed)
            if count > 0:
                self._again(partial(self._commit, count))
            self.committed = self._again(ledger.committed_count)

    def _commit(self, count: int) -> None:
        with transaction.atomic():
            for _ in range(count):
                publish(_bulk_event(self.users, self._bulk))
                self._bulk += 1

    def _again(self, step: Callable[[], T]) -> T:
        """step(); with tolerate_outages tried again, on a new connection, while the database
        cannot be reached or drops the connection (for OUTAGE_LIMIT seconds at most). A
        transaction whose commit went unanswered may have committed: the ledger counts it."""
        deadline = time.monotonic() + OUTAGE_LIMIT
        pause = 0.1
        while True:
            try:
                return step()
            except DATABASE_UNAVAILABLE:
                if not self.tolerate_outages or time.monotonic() > deadline or self._abandoned.is_set():
                    raise
            with contextlib.suppress(DatabaseError):
                connection.close()
            self.outage_retries += 1
            time.sleep(pause)
            pause = min(OUTAGE_PAUSE_MAX, pause * 2)

    def _sign_in(self, user: User, number: int) -> None:
        client = APIClient(
            REMOTE_ADDR=f"198.18.{number // 250}.{number % 250 + 1}", HTTP_USER_AGENT="chaos/1.0"
        )
        credentials = {"email": user.email, "password": PASSWORD}
        answer = self._again(partial(client.post, "/api/v1/auth/login", credentials, format="json"))
        if answer.status_code != 200:
            self.logins_refused.append(answer.status_code)
        self.committed = self._again(ledger.committed_count)
