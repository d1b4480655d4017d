"""Fixtures of the chaos scenarios: the whole pipeline as real processes (a worker on every
consumer's queue, relays), a webhook receiver with its subscription, the users who sign in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from django.db import connection

from identity_project.eventbus import routing
from notification import default_rules
from notification.models import NotificationRule
from tests.chaos import reconcile
from tests.chaos.load import register_users
from tests.chaos.receiver import WebhookReceiver
from tests.conftest import purge_queues
from tests.integration.conftest import WEBHOOK_TEST_ENV, webhook_settings  # noqa: F401 - a fixture
from tests.support import ledger as committed
from tests.support.processes import Process, service_env, start_relay, start_worker, wait_for

# make chaos: 10,000 events per burst; CI and a plain run: 1,000.
CHAOS_EVENTS = int(os.environ.get("CHAOS_EVENTS", "1000"))
# A few hundred sign-ins at 10,000 events (each publishes several events of its own).
CHAOS_LOGINS = max(10, CHAOS_EVENTS // 40)
# How long a scenario may take to drain after its burst: generous, the machine is shared.
DRAIN_TIMEOUT = 180 + CHAOS_EVENTS * 0.05
# How long the workers' PostgreSQL stays unreachable in "PostgreSQL unreachable during a drain",
# in seconds: 20 in CI and a plain run, 120 for make chaos, 900 for the 15 minutes.
CHAOS_PG_OUTAGE = float(os.environ.get("CHAOS_PG_OUTAGE", "20"))

# Every queue the registered consumers declared (and identity's tasks'): a worker takes them all.
QUEUES = ",".join(routing.queue_names())
PIPELINE_ENV = {
    **WEBHOOK_TEST_ENV,
    # Failures while the circuit is closed count; the scenarios hold the receiver down longer.
    "WEBHOOK_MAX_RETRIES": "50",
    "EMAIL_URL": "dummymail://",
    # The name pg_terminate_backend picks the pipeline's connections by.
    "PGAPPNAME": "chaos-pipeline",
}
PIPELINE_CONNECTIONS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'chaos-pipeline' AND pid <> pg_backend_pid()"
)


def pytest_terminal_summary(terminalreporter) -> None:
    """make chaos prints the reconciliation of every scenario that ran."""
    if not reconcile.RESULTS:
        return
    terminalreporter.section("chaos reconciliation")
    terminalreporter.write_line(reconcile.HEADER)
    for result in reconcile.RESULTS:
        terminalreporter.write_line(result.row())


def _output(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout


def shared_services() -> dict[str, object]:
    """What the scenarios must leave as they found it: the machine's PostgreSQL clusters (only the
    shared one, online), the shared RabbitMQ's nodes and alarms, the network namespaces and links.
    Private nodes, clusters and hosts come and go inside a scenario."""
    rabbitmq = json.loads(_output("rabbitmqctl", "-q", "cluster_status", "--formatter", "json") or "{}")
    return {
        "postgresql clusters": _output("pg_lsclusters", "--no-header").splitlines(),
        "rabbitmq nodes": sorted(rabbitmq.get("running_nodes", [])),
        "rabbitmq alarms": rabbitmq.get("alarms", []),
        "network namespaces": sorted(_output("ip", "netns", "list").splitlines()),
        "links": sorted(line.split(": ")[1] for line in _output("ip", "-o", "link", "show").splitlines()),
    }


@pytest.fixture(scope="session", autouse=True)
def shared_services_untouched():
    """Every scenario's set-up and tear-down, failed ones included, leave the shared services as
    they were: checked once all scenarios have run."""
    before = shared_services()
    yield
    assert shared_services() == before


class Pipeline:
    """Workers and relays of one scenario, each with a log of its own, all stopped at the end."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.log_dir = log_dir
        self.env = service_env(**PIPELINE_ENV, **env)
        self.workers: list[Process] = []
        self.relays: list[Process] = []

    def _folder(self, name: str) -> Path:
        folder = self.log_dir / name
        folder.mkdir(exist_ok=True)
        return folder

    def start_worker(self, prefix: Sequence[str] = (), **env: str) -> Process:
        """A worker on every queue; `env` overrides the pipeline's environment for it alone, `prefix`
        is the command it runs through (processes.start_worker)."""
        worker = start_worker(
            self._folder(f"worker-{len(self.workers)}"),
            queues=QUEUES,
            env={**self.env, **env},
            relay=False,
            prefix=prefix,
        )
        self.workers.append(worker)
        return worker

    def start_relay(self) -> Process:
        relay = start_relay(self.log_dir, env=self.env, name=f"relay-{len(self.relays)}")
        self.relays.append(relay)
        return relay

    @staticmethod
    def wait_connected() -> None:
        """Until the relay holds its database connection (it leads): a relay still importing
        Django when a short burst is over would leave a scenario nothing to inject its fault into."""

        def connected() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(PIPELINE_CONNECTIONS)
                return cursor.fetchone() is not None

        wait_for(connected, timeout=60, what="the pipeline's relay to connect to PostgreSQL")

    @staticmethod
    def kill(process: Process) -> None:
        """SIGKILL to the process and its children: nothing gets to clean up."""
        os.killpg(process.pid, signal.SIGKILL)
        process.popen.wait(10)

    def stop(self) -> None:
        for process in [*self.relays, *self.workers]:
            if process.popen.poll() is None:
                process.stop()


@pytest.fixture(autouse=True)
def notification_rules(db) -> None:
    default_rules.install(NotificationRule)


@pytest.fixture
def receiver(webhook_settings):  # noqa: F811 - the fixture imported above
    """The receiver and one subscription to the load's marked events (role assignments)."""
    from integration.services import subscription_create

    endpoint = WebhookReceiver()
    endpoint.start()
    subscription_create(url=endpoint.url(), event_types=["identity.role.assigned_to_user"])
    yield endpoint
    endpoint.stop()


@pytest.fixture(autouse=True)
def ledger(transactional_db):
    """What each scenario commits, kept apart from the outbox."""
    committed.install()
    yield
    committed.remove()


@pytest.fixture
def users(transactional_db):
    return register_users(CHAOS_LOGINS)


@pytest.fixture
def pipeline(transactional_db, log_dir):
    """A worker on every queue and a relay, on this run's broker."""
    purge_queues()
    running = Pipeline(log_dir)
    running.start_worker()
    running.start_relay()
    running.wait_connected()
    yield running
    running.stop()
