"""Fixtures shared by all tests: the services of this run, real worker and relay processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from identity_project import multiproc
from identity_project.celery import app as celery_app
from identity_project.eventbus import routing
from tests.support.processes import Process, start_relay, start_worker, wait_for
from tests.support.smtp import SmtpServer, running_smtp_server
from tests.support.tcp_proxy import TcpProxy

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(what: str) -> None:
    """In CI a missing service fails the run; on a laptop the tests needing it are skipped."""
    if IN_CI:
        pytest.fail(f"{what} is not available (CI=true: failing, not skipping)", pytrace=False)
    pytest.skip(f"{what} is not available")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `last` (the secrets scan) read what every other test produced: they run last,
    after pytest-django has put the tests needing a real transaction at the end. Tests of
    RabbitMQ's own features (delivery limit, dead-letter queues) mean nothing on Redis."""
    if not routing.broker_is_rabbitmq(settings.CELERY_BROKER_URL):
        skip = pytest.mark.skip(reason="RabbitMQ only: the broker of this run is not RabbitMQ")
        for item in items:
            if "rabbitmq_only" in item.keywords:
                item.add_marker(skip)
    last = [item for item in items if item.get_closest_marker("last")]
    items[:] = [item for item in items if not item.get_closest_marker("last")] + last


@pytest.fixture(scope="session", autouse=True)
def run_records(request):
    """What the run produced (tests/recording) is removed at the end, unless a test failed."""
    yield settings.TEST_RECORD_DIR
    if not request.session.testsfailed:
        shutil.rmtree(settings.TEST_RECORD_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def rabbitmq_vhost():
    """This run's own vhost, so parallel runs never take each other's messages."""
    if not routing.broker_is_rabbitmq(settings.CELERY_BROKER_URL):
        yield None
        return
    host, port = settings.CELERY_BROKER_URL.split("@", 1)[1].split("/", 1)[0].split(":")
    if not _reachable(host, int(port)):
        _unavailable(f"RabbitMQ at {host}:{port}")
    vhost = settings.CELERY_BROKER_URL.rsplit("/", 1)[1]
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.CalledProcessError) as exc:
        _unavailable(f"rabbitmqctl to create the vhost {vhost} ({exc})")
    yield vhost
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


def forget_this_runs_cache_keys(client: redis.Redis) -> None:
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


@pytest.fixture(scope="session", autouse=True)
def redis_database():
    """Redis is shared by parallel runs: this run only ever touches its own prefixed keys."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        _unavailable(f"Redis at {settings.REDIS_URL}")
    yield client
    forget_this_runs_cache_keys(client)


@pytest.fixture(scope="session", autouse=True)
def _metrics_folder():
    """The test process counts where the processes it starts do, as a command of the platform
    (multiproc.py); the run's counter files (tests/settings.py) go with the run."""
    multiproc.prepare("tests")
    yield
    shutil.rmtree(settings.PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def redis_broker():
    """On Redis as the broker (make test-redis), this run's broker keys, removed at the end."""
    if not routing.broker_is_redis(settings.CELERY_BROKER_URL):
        yield None
        return
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        _unavailable(f"Redis as the broker at {settings.CELERY_BROKER_URL}")
    yield client
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


@pytest.fixture(autouse=True)
def _fresh_cache(redis_database):
    """Throttle counters and lockout counts of one test must not spill into the next."""
    forget_this_runs_cache_keys(redis_database)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder


def purge_queues() -> None:
    """Messages an earlier test left behind must not reach this test's worker."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in celery_app.amqp.queues.values():
            bound = queue.bind(channel)
            bound.declare()
            bound.purge()


@pytest.fixture
def worker(transactional_db, log_dir: Path):
    """A real `celery worker` process (prefork, two children) on the audit and probe queues, with
    the relay that sends it what the test commits."""
    purge_queues()
    process = start_worker(log_dir)
    yield process
    process.stop()


@pytest.fixture
def lone_worker(transactional_db, log_dir: Path):
    """The same worker without a relay, for a test that runs its relays itself."""
    purge_queues()
    process = start_worker(log_dir, relay=False)
    yield process
    process.stop()


@pytest.fixture
def postgresql_proxy(transactional_db):
    """A TCP proxy to this run's PostgreSQL, for the processes a test cuts off from it
    (`database_url(host="127.0.0.1", port=proxy.port)`); the shared server is never stopped. Closed
    at the end, whatever the test did to it."""
    database = connection.settings_dict
    proxy = TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def relay(transactional_db, log_dir: Path):
    process: Process = start_relay(log_dir)
    yield process
    process.stop()


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    """A folder the probe handler writes its attempt markers into."""
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


@pytest.fixture
def probe_id() -> str:
    return uuid.uuid4().hex


__all__ = ["wait_for"]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; its mailbox holds what it received."""
    with running_smtp_server() as server:
        yield server
