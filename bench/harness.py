"""What every benchmark shares: its own database and vhost, child processes (workers, the relay,
gunicorn), a backlog written straight into the outbox, timings read back from the database, and
where results go.

Every part (pipeline, sustained, latency, alerts, logins, refreshes, alarm, search, profile) has
three sizes: `full` (what `make bench` runs), `quick` (`make bench-quick`, about a minute each) and
`smoke` (tiny, for the test that keeps this code from rotting).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The smoke test writes elsewhere, so that it never touches the committed results.
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))
BENCH_ID = os.environ.setdefault("BENCH_ID", f"bench_{uuid.uuid4().hex[:8]}")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
VHOST = f"identity_{BENCH_ID}"
DATABASE = f"identity_{BENCH_ID}"
SIZES = ("full", "quick", "smoke")
# The consumers' worker settings, the baseline's too: prefork, two processes (the machine's cores).
CONCURRENCY = 2


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def create_services() -> None:
    import psycopg

    sh("rabbitmqctl", "-q", "add_vhost", VHOST)
    sh("rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        db.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_services() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True, timeout=120)
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@contextlib.contextmanager
def session() -> Iterator[Path]:
    """The benchmark's own database (migrated) and vhost for the whole run; yields the log folder."""
    create_services()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        log_dir = RESULTS / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        yield log_dir
    finally:
        drop_services()


class Process:
    def __init__(self, args: list[str], name: str, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_ready(self, marker: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise RuntimeError(f"{self.log_path} never said {marker!r}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_all([self])


def stop_all(processes: list[Process]) -> None:
    """Stop them all at once: a worker takes seconds to shut down, and they need not take turns."""
    for process in processes:
        process.popen.terminate()
    for process in processes:
        try:
            process.popen.wait(30)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()


def start_worker(
    queues: str, log_dir: Path, *, concurrency: int = CONCURRENCY, env: dict[str, str] | None = None
) -> Process:
    """A real Celery worker as production runs it (prefork, acks_late, prefetch multiplier 4)."""
    name = queues.replace(",", "+")
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "identity_project", "worker", "-Q", queues, "-c",
         str(concurrency), "-P", "prefork", "--without-gossip", "--without-mingle", "-l", "INFO",
         "-n", f"{name}@%h"],
        f"worker-{name}",
        log_dir,
        env,
    )  # fmt: skip
    worker.wait_ready("ready.")
    return worker


def start_relay(log_dir: Path, *, env: dict[str, str] | None = None) -> Process:
    return Process([sys.executable, "manage.py", "relay_outbox", "--interval", "0.1"], "relay", log_dir, env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(log_dir: Path, *, name: str = "web", env: dict[str, str] | None = None) -> tuple[Process, str]:
    """gunicorn with two sync workers on a free loopback port; returns it and its base URL."""
    import httpx

    port = free_port()
    web = Process(
        [sys.executable, "-m", "gunicorn", "identity_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--config", "python:identity_project.gunicorn_config", "--workers", "2", "--log-level", "warning"],
        name,
        log_dir,
        env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _healthy(httpx, url), timeout=60, what=f"{name} to answer /healthz")
    return web, url


def _healthy(httpx, url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(every)


# --- the database and the broker ------------------------------------------------------------


def reset() -> None:
    """Empty what a measure fills: the queues, the consumers' tables and the bus's (outbox,
    claims); the notification rules, seeded by a migration, stay."""
    from django.apps import apps
    from django.db import OperationalError, connection, transaction

    from identity_project.eventbus import routing
    from notification.models import NotificationRule

    tables = []
    for app in ("audit", "eventbus", "notification", "integration"):
        models = apps.get_app_config(app).get_models()
        tables += [model._meta.db_table for model in models if model is not NotificationRule]
    # Workers that run on between measures may still be in a message's transaction: the TRUNCATE
    # can lose a deadlock to it (or wait past the lock timeout), and is tried again once it ended.
    for attempt in range(20):
        purge_queues(*routing.queue_names())
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                cursor.execute(f"TRUNCATE {', '.join(tables)}")
            return
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.5)


def queue_depth(queue: str) -> int:
    from identity_project.celery import app

    with app.connection_for_read() as connection:
        _, ready, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        return ready


def purge_queues(*queues: str) -> None:
    from identity_project.celery import app

    with app.connection_for_write() as connection:
        for queue in queues:
            # A channel each: purging a queue nobody declared yet closes its channel.
            with contextlib.suppress(Exception), connection.channel() as channel:
                channel.queue_purge(queue)


def sample_event():
    """A sign-in of an unknown user: every consumer takes it, none sends a mail or a webhook."""
    from identity.events import UserLoggedIn

    return UserLoggedIn(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        mfa_used=True,
        door="api",
        method="password",
        device_id=uuid.uuid4(),
    )


def sample_envelopes(count: int) -> list[dict]:
    from identity_project.eventbus.context import SYSTEM
    from identity_project.eventbus.envelope import build

    now = datetime.now(UTC)
    envelopes = []
    for _ in range(count):
        event = sample_event()
        envelopes.append(
            build(event, event_id=uuid.uuid4(), aggregate_id=str(event.user_id), sequence=1, actor=SYSTEM,
                  correlation_id=uuid.uuid4().hex, causation_id=None, occurred_at=now)
        )  # fmt: skip
    return envelopes


OUTBOX_COLUMNS = (
    "event_id, type, version, aggregate_type, aggregate_id, sequence, correlation_id, envelope, "
    "created_at, attempts, last_error"
)


def fill_outbox(envelopes: list[dict]) -> None:
    """Commit a backlog straight into the outbox (COPY): what a stopped relay leaves behind, written
    at tens of thousands of rows a second, so that filling never bounds what is measured."""
    from django.db import connection, transaction

    from identity_project.eventbus.models import OutboxEvent

    created = datetime.now(UTC) - timedelta(seconds=5)
    with transaction.atomic(), connection.cursor() as cursor:
        statement = f"COPY {OutboxEvent._meta.db_table} ({OUTBOX_COLUMNS}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for e in envelopes:
                copy.write_row(
                    (e["event_id"], e["type"], e["version"], e["aggregate_type"], e["aggregate_id"],
                     e["sequence"], e["correlation_id"], json.dumps(e), created, 0, "")
                )  # fmt: skip


def processed(consumer: str) -> int:
    from identity_project.eventbus.models import ProcessedEvent

    return ProcessedEvent.objects.filter(consumer=consumer).count()


def drain_rate(consumer: str) -> dict:
    """Events per second a consumer handled, from its claims' timestamps, so that process start-up
    never counts. A claim is taken as a transaction starts: between the first claim and the last,
    every transaction but the last one ran."""
    from django.db import connection

    from identity_project.eventbus.models import ProcessedEvent

    table = ProcessedEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(processed_at), max(processed_at), count(*) FILTER (WHERE processed_at = "
            f"(SELECT max(processed_at) FROM {table} WHERE consumer = %s)) FROM {table} WHERE consumer = %s",
            [consumer, consumer],
        )
        count, first, last, in_last = cursor.fetchone()
    seconds = (last - first).total_seconds() if count else 0.0
    rate = (count - in_last) / seconds if seconds > 0 else 0.0
    return {"events": count, "seconds": round(seconds, 3), "rate": round(rate, 1)}


def timeline(consumer: str, since: datetime) -> list[int]:
    """Events a consumer handled in each second from `since` on (throughput over time)."""
    from django.db import connection

    from identity_project.eventbus.models import ProcessedEvent

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT floor(extract(epoch FROM processed_at - %s))::int AS s, count(*) "
            f"FROM {ProcessedEvent._meta.db_table} WHERE consumer = %s AND processed_at >= %s "
            f"GROUP BY s ORDER BY s",
            [since, consumer, since],
        )
        rows = cursor.fetchall()
    per_second = [0] * ((rows[-1][0] + 1) if rows else 0)
    for second, count in rows:
        per_second[second] = count
    return per_second


# --- numbers --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def distribution(milliseconds: list[float]) -> dict:
    """p50/p95/p99 of latencies, and the samples themselves for the plots."""
    if not milliseconds:
        return {"count": 0}
    return {
        "count": len(milliseconds),
        "p50_ms": round(percentile(milliseconds, 0.5), 1),
        "p95_ms": round(percentile(milliseconds, 0.95), 1),
        "p99_ms": round(percentile(milliseconds, 0.99), 1),
        "max_ms": round(max(milliseconds), 1),
        "samples_ms": [round(v, 2) for v in milliseconds],
    }


def summarise(runs: list[dict], key: str = "rate") -> dict:
    """Median of the repeats, with their spread (min, max, and max-min relative to the median)."""
    values = [r[key] for r in runs]
    median = statistics.median(values)
    return {
        "median": round(median, 1),
        "min": min(values),
        "max": max(values),
        "spread": round((max(values) - min(values)) / median, 2) if median else None,
        "runs": runs,
    }


def machine() -> dict:
    return {
        "host": platform.node(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def size_arguments(description: str | None):
    import argparse

    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_const", const="quick", dest="size", help="about a minute")
    group.add_argument(
        "--smoke", action="store_const", const="smoke", dest="size", help="tiny, for the tests"
    )
    parser.set_defaults(size="full")
    return parser


def run_alone(name: str, measure: Callable[[str, Path], dict], size: str) -> dict:
    """Run one part in a session of its own, write `<name>-latest[-size].json` and print its section."""
    from bench import report

    started = time.monotonic()
    with session() as log_dir:
        result = measure(size, log_dir)
    result["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if size == "full" else f"-{size}"
    (RESULTS / f"{name}-latest{suffix}.json").write_text(json.dumps(result, indent=2, default=str))
    sys.stdout.write(report.section(name, result) + "\n")
    return result
