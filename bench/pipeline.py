"""Benchmark of the event pipeline on the production stack (PostgreSQL, RabbitMQ, real workers).

Measured in one run, so that ratios hold on a shared machine whose absolute speed drifts:
  noop         raw Celery no-op tasks drained per second, same broker, queue type and worker
               settings as the consumers (the baseline);
  audit_drain  events per second from a committed backlog to audit rows (relay + audit worker);
  audit_live   events per second from commit to audit row while a producer commits one event
               per transaction (the on-commit fast path, one message per transaction).

    python -m bench.pipeline [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import RESULTS, Process, create_services, drop_services


def start_worker(queue: str, log_dir: Path) -> Process:
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "identity_project", "worker", "-Q", queue, "-c", "2",
         "-P", "prefork", "--without-gossip", "--without-mingle", "-l", "INFO", "-n", f"{queue}@%h"],
        f"worker-{queue}",
        log_dir,
    )  # fmt: skip
    worker.wait_ready("ready.")
    return worker


def queue_depth(queue: str) -> int:
    from identity_project.celery import app

    with app.connection_for_read() as connection:
        _, ready, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        return ready


def sample_event():
    from identity.events import UserLoggedIn

    return UserLoggedIn(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        mfa_used=True,
        device_id=uuid.uuid4(),
    )


def measure_noop(count: int, log_dir: Path) -> dict:
    """Fill the queue with `count` no-op tasks, then time a worker draining it."""
    from bench.tasks import noop
    from identity_project.celery import app
    from identity_project.eventbus.context import SYSTEM
    from identity_project.eventbus.envelope import build

    event = sample_event()
    payload = [
        build(event, event_id=uuid.uuid4(), aggregate_id=str(event.user_id), sequence=1, actor=SYSTEM,
              correlation_id="c" * 32, causation_id=None, occurred_at=datetime.now(UTC))
    ]  # fmt: skip
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            noop.apply_async(args=(payload,), queue="bench.noop", producer=producer)
    worker = start_worker("bench.noop", log_dir)
    try:
        return _time_drain("bench.noop", count)
    finally:
        worker.stop()


def _time_drain(queue: str, count: int) -> dict:
    started = None
    while True:
        depth = queue_depth(queue)
        now = time.monotonic()
        if started is None and depth < count:
            started, first_depth = now, depth
        if depth == 0:
            break
        time.sleep(0.02)
    elapsed = max(now - started, 1e-6)
    return {"events": count, "seconds": round(elapsed, 3), "rate": round(first_depth / elapsed, 1)}


def reset_tables() -> None:
    """Empty what a measure fills: the audit trail with its chain heads, and the bus's tables."""
    from django.apps import apps
    from django.db import connection

    tables = [model._meta.db_table for model in apps.get_app_config("audit").get_models()]
    tables += [model._meta.db_table for model in apps.get_app_config("eventbus").get_models()]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


def audited() -> int:
    from audit.models import AuditEntry

    return AuditEntry.objects.count()


def measure_audit_drain(count: int, log_dir: Path) -> dict:
    """Commit `count` events with the pipeline stopped, then time relay + audit worker to audit them."""
    from django.conf import settings
    from django.db import transaction

    from identity_project.eventbus.publisher import publish

    reset_tables()
    settings.EVENTBUS["FAST_PATH"] = False
    try:
        for start in range(0, count, 100):
            with transaction.atomic():
                for _ in range(min(100, count - start)):
                    publish(sample_event())
    finally:
        settings.EVENTBUS["FAST_PATH"] = True
    time.sleep(settings.EVENTBUS["RELAY_GRACE"])
    worker = start_worker("audit", log_dir)
    started = time.monotonic()
    relay = Process([sys.executable, "manage.py", "relay_outbox", "--interval", "0.1"], "relay", log_dir)
    try:
        while audited() < count:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        relay.stop()
        worker.stop()
    return {"events": count, "seconds": round(elapsed, 3), "rate": round(count / elapsed, 1)}


def measure_audit_live(seconds: float, log_dir: Path) -> dict:
    """One producer commits one event per transaction for `seconds`; time commit to last audit row."""
    from django.db import transaction

    from identity_project.eventbus.publisher import publish

    reset_tables()
    worker = start_worker("audit", log_dir)
    relay = Process([sys.executable, "manage.py", "relay_outbox", "--interval", "0.2"], "relay", log_dir)
    committed = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            with transaction.atomic():
                publish(sample_event())
            committed += 1
        produced_in = time.monotonic() - started
        while audited() < committed:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        relay.stop()
        worker.stop()
    return {
        "events": committed,
        "seconds": round(elapsed, 3),
        "rate": round(committed / elapsed, 1),
        "producer_rate": round(committed / produced_in, 1),
    }


RAW_TABLE = """CREATE TABLE IF NOT EXISTS bench_raw_rows (
    event_id uuid PRIMARY KEY, type text, version int, source text, occurred_at timestamptz,
    received_at timestamptz, aggregate_type text, aggregate_id text, sequence bigint, actor_type text,
    actor_id text, correlation_id text, causation_id uuid, data jsonb)"""


def _raw_rows(count: int) -> list[tuple]:
    """Rows the size of audit entries (the envelope's columns and its data as JSON)."""
    event = sample_event()
    data = json.dumps(event.to_data())
    now = datetime.now(UTC)
    return [
        (uuid.uuid4(), event.type, 1, "identity", now, now, "user", str(event.user_id), 1, "user",
         str(event.user_id), "c" * 32, None, data)
        for _ in range(count)
    ]  # fmt: skip


def measure_raw_inserts(count: int) -> dict:
    """The database's own limits for audit-sized rows in a plain table with a primary key:
    single-row INSERT+COMMIT, and COPY of 1,000-row chunks (what a batch costs at best)."""
    from django.db import connection

    columns = "event_id, type, version, source, occurred_at, received_at, aggregate_type, aggregate_id, "
    columns += "sequence, actor_type, actor_id, correlation_id, causation_id, data"
    with connection.cursor() as cursor:
        cursor.execute(RAW_TABLE)
        cursor.execute("TRUNCATE bench_raw_rows")
    raw = connection.connection
    single = _raw_rows(min(count // 10, 2000))
    started = time.monotonic()
    with raw.cursor() as cursor:
        for row in single:
            cursor.execute(f"INSERT INTO bench_raw_rows ({columns}) VALUES ({', '.join(['%s'] * 14)})", row)
            raw.commit()
    single_rate = len(single) / (time.monotonic() - started)
    bulk = _raw_rows(count)
    started = time.monotonic()
    with raw.cursor() as cursor:
        for start in range(0, count, 1000):
            with cursor.copy(f"COPY bench_raw_rows ({columns}) FROM STDIN") as copy:
                for row in bulk[start : start + 1000]:
                    copy.write_row(row)
            raw.commit()
    bulk_rate = count / (time.monotonic() - started)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_rows")
    return {"single_row_rate": round(single_rate, 1), "rate": round(bulk_rate, 1)}


def summarise(runs: list[dict]) -> dict:
    rates = [r["rate"] for r in runs]
    return {
        "median": round(statistics.median(rates), 1),
        "min": min(rates),
        "max": max(rates),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    noop_count, drain_count, live_seconds, repeats = (
        (3000, 3000, 8, 1) if args.quick else (10000, 20000, 30, 3)
    )
    repeats = args.repeats or repeats

    create_services()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    measured = {"noop": [], "raw_bulk_insert": [], "audit_drain": [], "audit_live": []}
    try:
        # Warm-up: one small round of each, not reported.
        measure_noop(500, log_dir)
        measure_audit_drain(500, log_dir)
        for _ in range(repeats):
            measured["noop"].append(measure_noop(noop_count, log_dir))
            measured["raw_bulk_insert"].append(measure_raw_inserts(drain_count))
            measured["audit_drain"].append(measure_audit_drain(drain_count, log_dir))
            measured["audit_live"].append(measure_audit_live(live_seconds, log_dir))
    finally:
        drop_services()
    report(measured, quick=args.quick)


def report(measured: dict, *, quick: bool) -> None:
    summary = {name: summarise(runs) for name, runs in measured.items()}
    noop = summary["noop"]["median"]
    ratios = {
        "audit_drain / noop": round(summary["audit_drain"]["median"] / noop, 2),
        "audit_drain / raw_bulk_insert": round(
            summary["audit_drain"]["median"] / summary["raw_bulk_insert"]["median"], 2
        ),
        "audit_live / noop": round(summary["audit_live"]["median"] / noop, 2),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = f"{platform.node()}: {os.cpu_count()} cores, {platform.platform()}"
    machine += f", Python {platform.python_version()}"
    result = {"when": stamp, "machine": machine, "quick": quick, "summary": summary, "ratios": ratios}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"pipeline-{stamp}.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# Pipeline benchmark {stamp}{' (quick)' if quick else ''}",
        "",
        f"Machine: {machine}. Worker: prefork, concurrency 2, prefetch multiplier 4, acks_late; "
        "RabbitMQ quorum queues; PostgreSQL.",
        "",
        "| measure | median events/s | min | max | ratio to no-op |",
        "|---|---|---|---|---|",
    ]
    for name in ("noop", "raw_bulk_insert", "audit_drain", "audit_live"):
        s = summary[name]
        ratio = round(s["median"] / noop, 2)
        lines.append(f"| {name} | {s['median']} | {s['min']} | {s['max']} | {ratio} |")
    single = statistics.median(r["single_row_rate"] for r in measured["raw_bulk_insert"])
    lines += [
        "",
        f"raw_bulk_insert: COPY of 1,000 audit-sized rows per transaction; single-row INSERT+COMMIT: "
        f"{single}/s.",
        f"audit_drain / raw_bulk_insert: {ratios['audit_drain / raw_bulk_insert']}.",
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / f"pipeline-{stamp}.md").write_text(text)
    (RESULTS / "pipeline-latest.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
