"""PostgreSQL restarted mid-burst (issue #21): the pipeline and a web on a private cluster of
their own (the shared one serves other runs), restarted at a third of the burst, and at two thirds
stopped, held down for a few seconds and started again. Meanwhile the web answers 503 (readyz and
the API, in its error shape), never 500; web, relay and workers reconnect by themselves, the
same processes; and the reconciliation counts nothing lost.

The test's own database connection (the burst, the ledger, the fixtures that follow, the
reconciliation) is on that cluster too: a copy of this run's test database, taken after the
autouse fixtures (rules, ledger) ran.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from django.db import connection

from tests.chaos.conftest import CHAOS_EVENTS, DRAIN_TIMEOUT, Pipeline
from tests.chaos.load import PASSWORD, Burst
from tests.chaos.reconcile import settle
from tests.conftest import purge_queues
from tests.support.postgresql_cluster import PostgreSQLCluster
from tests.support.processes import Process, start_web, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.rabbitmq_only, pytest.mark.django_db(transaction=True)]

# How long PostgreSQL stays down after its stop: long enough for many polls to see it.
HOLD = 5.0
POLL_INTERVAL = 0.2
# An answer that came this soon after the stop may have read the database just before it.
IN_FLIGHT = 1.0


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when it came
    what: str  # "readyz" or "me"
    status: int | None  # None: no answer at all (refused, reset, timed out)
    body: dict | None
    retry_after: str | None


class Poller(threading.Thread):
    """Asks the web, as a load balancer and a client would, for /readyz and for a signed-in
    user's profile (GET /api/v1/me, whose token is checked against its session in PostgreSQL)
    every POLL_INTERVAL seconds, and keeps every answer."""

    def __init__(self, url: str, access: str) -> None:
        super().__init__(name="chaos-poller", daemon=True)
        self.url = url
        self.requests = {
            "readyz": ("/readyz", {}),
            "me": ("/api/v1/me", {"Authorization": f"Bearer {access}"}),
        }
        self.answers: list[Answer] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self._stopping.is_set():
                for what, (path, headers) in self.requests.items():
                    self.answers.append(self._ask(http, what, path, headers))
                self._stopping.wait(POLL_INTERVAL)

    @staticmethod
    def _ask(http: httpx.Client, what: str, path: str, headers: dict[str, str]) -> Answer:
        try:
            answer = http.get(path, headers=headers)
        except httpx.HTTPError:
            return Answer(time.monotonic(), what, None, None, None)
        json = answer.headers.get("content-type", "").startswith("application/json")
        return Answer(
            time.monotonic(),
            what,
            answer.status_code,
            answer.json() if json else None,
            answer.headers.get("retry-after"),
        )

    def stop(self) -> None:
        self._stopping.set()
        self.join(15)

    def between(self, start: float, end: float, what: str) -> list[Answer]:
        return [a for a in list(self.answers) if a.what == what and start <= a.at <= end]

    def answered_200_since(self, start: float) -> bool:
        return all(
            any(a.status == 200 for a in self.between(start, time.monotonic(), w)) for w in self.requests
        )


def _in_the_error_shape(answer: Answer) -> bool:
    error = (answer.body or {}).get("error", {})
    return error.keys() == {"code", "message", "fields"} and error["code"] == "service_unavailable"


@pytest.fixture
def private_postgresql(ledger) -> Iterator[PostgreSQLCluster]:
    """A cluster of this test's own with a copy of the test database, serving this process's
    connections until the end; dropped at the end, also when the test failed."""
    cluster = PostgreSQLCluster()
    try:
        cluster.create()
        cluster.start()
        cluster.copy_database(connection.settings_dict)
        with cluster.serving_django():
            yield cluster
    finally:
        cluster.remove()


def _pids(running: Pipeline, web: Process) -> dict[str, object]:
    """The processes and their children (gunicorn's and the Celery pool's workers)."""
    [worker], [relay] = running.workers, running.relays
    return {
        "web": (web.pid, sorted(web.children())),
        "worker": (worker.pid, sorted(worker.children())),
        "relay": relay.pid,
    }


# Fixture order matters: the private cluster serves this process before the receiver's
# subscription and the users are made, so they are made there.
def test_postgresql_restarted_during_the_burst(private_postgresql, log_dir, receiver, users):
    # given the pipeline and a web on the private cluster, and a poller asking the web
    purge_queues()
    running = Pipeline(log_dir)
    web: Process | None = None
    poller: Poller | None = None
    burst: Burst | None = None
    try:
        running.start_worker()
        running.start_relay()
        web, url = start_web(log_dir, env=running.env)
        running.wait_connected()
        signed_in = httpx.post(
            f"{url}/api/v1/auth/login", json={"email": users[0].email, "password": PASSWORD}
        )
        poller = Poller(url, signed_in.json()["access"])
        poller.start()
        before = _pids(running, web)
        burst = Burst(events=CHAOS_EVENTS, users=users, tolerate_outages=True)
        burst.start()

        # when PostgreSQL is restarted at a third of the burst
        burst.wait_until(1 / 3)
        private_postgresql.restart()
        # and at two thirds stopped, held down, and started again
        burst.wait_until(2 / 3)
        private_postgresql.stop()
        down = time.monotonic()
        time.sleep(HOLD)
        up = time.monotonic()
        private_postgresql.start()
        started = time.monotonic()
        burst.finish()
        # this thread's connection went with the restarts; the next query opens another
        connection.close()
        wait_for(
            lambda: poller.answered_200_since(started), timeout=60, what="readyz and the API to answer 200"
        )

        # then nothing is lost
        settle("PostgreSQL restarted", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
        poller.stop()
        # the web said 503 while PostgreSQL was down, in the API's error shape, and never 500
        for what in ("readyz", "me"):
            meanwhile = poller.between(down + IN_FLIGHT, up, what)
            assert meanwhile, f"no {what} answer while PostgreSQL was down"
            assert {a.status for a in meanwhile} == {503}, meanwhile
        assert all(
            _in_the_error_shape(a) and a.retry_after for a in poller.between(down + IN_FLIGHT, up, "me")
        )
        statuses = {a.status for a in poller.answers}
        assert statuses <= {200, 503}, [a for a in poller.answers if a.status not in {200, 503}][:5]
        # and web, relay and workers recovered by themselves: the same processes, still running
        assert _pids(running, web) == before
        assert all(p.popen.poll() is None for p in [web, *running.workers, *running.relays])
        assert "relay.recovered" in running.relays[0].log()
        assert burst.outage_retries > 0
    finally:
        if burst is not None:
            burst.abandon()
        if poller is not None:
            poller.stop()
        if web is not None:
            web.stop()
        running.stop()
