"""Benchmark of the event pipeline on the production stack (PostgreSQL, RabbitMQ, real workers).

Measured in one run, so that ratios hold on a shared machine whose absolute speed drifts:
  noop             raw Celery no-op tasks drained per second, same broker, queue type and worker
                   settings as the consumers (the baseline);
  raw_insert       PostgreSQL's own rates for audit-sized rows: single-row INSERT+COMMIT, and COPY
                   of 1,000-row transactions (the best a batch can do);
  <consumer>_drain events per second from a committed backlog in the outbox to the consumer's
                   handled events (relay + that consumer's worker alone), for audit, notification
                   and integration;
  audit_live       events per second from commit to audit row while one producer commits one event
                   per transaction through publish() (the on-commit fast path);
  scale            the drain rate of audit and notification (and the no-op rate) with 1, 2 and 4
                   worker processes.

    python -m bench.pipeline [--quick | --smoke]
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench import harness
from bench.harness import CONCURRENCY, start_relay, start_worker, wait_until

CONSUMERS = ("audit", "notification", "integration")
# A drain's rate comes from its claims' timestamps and leaves out the last transaction, so a drain
# must span several of a batch consumer's transactions (EVENTBUS_BATCH_SIZE events each).
SIZES = {
    "full": {"noop": 10000, "raw": 20000, "drain": 20000, "live_s": 30, "repeats": 3, "warmup": 500,
             "scale": 10000, "processes": (1, 2, 4), "scaled": ("audit", "notification", "noop")},
    "quick": {"noop": 1000, "raw": 5000, "drain": 5000, "live_s": 3, "repeats": 1, "warmup": 100,
              "scale": 5000, "processes": (1, 2, 4), "scaled": ("audit",)},
    "smoke": {"noop": 100, "raw": 200, "drain": 200, "live_s": 1, "repeats": 1, "warmup": 0,
              "scale": 0, "processes": (), "scaled": ()},
}  # fmt: skip


def measure_noop(count: int, log_dir: Path, *, concurrency: int = CONCURRENCY) -> dict:
    """Fill the queue with `count` no-op tasks carrying one envelope each, then time a worker
    draining it (from the first task taken to an empty queue)."""
    from bench.tasks import noop
    from identity_project.celery import app

    payload = harness.sample_envelopes(1)
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            noop.apply_async(args=(payload,), queue="bench.noop", producer=producer)
    worker = start_worker("bench.noop", log_dir, concurrency=concurrency)
    try:
        started = None
        while True:
            depth = harness.queue_depth("bench.noop")
            now = time.monotonic()
            if started is None and depth < count:
                started, first_depth = now, depth
            if depth == 0:
                break
            time.sleep(0.02)
    finally:
        worker.stop()
    elapsed = max(now - started, 1e-6)
    return {"events": count, "seconds": round(elapsed, 3), "rate": round(first_depth / elapsed, 1)}


RAW_TABLE = """CREATE TABLE IF NOT EXISTS bench_raw_rows (
    event_id uuid PRIMARY KEY, type text, version int, source text, occurred_at timestamptz,
    received_at timestamptz, aggregate_type text, aggregate_id text, sequence bigint, actor_type text,
    actor_id text, correlation_id text, causation_id uuid, data jsonb)"""
RAW_COLUMNS = (
    "event_id, type, version, source, occurred_at, received_at, aggregate_type, aggregate_id, "
    "sequence, actor_type, actor_id, correlation_id, causation_id, data"
)


def _raw_rows(count: int) -> list[tuple]:
    """Rows the size of audit entries (the envelope's columns and its data as JSON)."""
    event = harness.sample_event()
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

    with connection.cursor() as cursor:
        cursor.execute(RAW_TABLE)
        cursor.execute("TRUNCATE bench_raw_rows")
    raw = connection.connection
    single = _raw_rows(max(count // 10, 50))
    started = time.monotonic()
    with raw.cursor() as cursor:
        for row in single:
            cursor.execute(
                f"INSERT INTO bench_raw_rows ({RAW_COLUMNS}) VALUES ({', '.join(['%s'] * 14)})", row
            )
            raw.commit()
    single_rate = len(single) / (time.monotonic() - started)
    bulk = _raw_rows(count)
    started = time.monotonic()
    with raw.cursor() as cursor:
        for start in range(0, count, 1000):
            with cursor.copy(f"COPY bench_raw_rows ({RAW_COLUMNS}) FROM STDIN") as copy:
                for row in bulk[start : start + 1000]:
                    copy.write_row(row)
            raw.commit()
    bulk_rate = count / (time.monotonic() - started)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_rows")
    return {"single_row_rate": round(single_rate, 1), "rate": round(bulk_rate, 1)}


def measure_drain(consumer: str, count: int, log_dir: Path, *, concurrency: int = CONCURRENCY) -> dict:
    """Commit `count` events to the outbox, then let the relay and this consumer's worker (alone)
    take them; the rate comes from the consumer's claim timestamps."""
    harness.reset()
    worker = start_worker(consumer, log_dir, concurrency=concurrency)
    relay = start_relay(log_dir)
    try:
        harness.fill_outbox(harness.sample_envelopes(count))
        wait_until(lambda: harness.processed(consumer) >= count, timeout=600, what=f"{consumer} to drain")
    finally:
        relay.stop()
        worker.stop()
    return harness.drain_rate(consumer)


def measure_audit_live(seconds: float, log_dir: Path) -> dict:
    """One producer commits one event per transaction through publish() for `seconds`; the rate is
    from the first commit to the last audit row."""
    from django.db import transaction

    from identity_project.eventbus.publisher import publish

    harness.reset()
    worker = start_worker("audit", log_dir)
    relay = start_relay(log_dir)
    committed = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            with transaction.atomic():
                publish(harness.sample_event())
            committed += 1
        produced_in = time.monotonic() - started
        wait_until(lambda: harness.processed("audit") >= committed, timeout=120, what="audit to catch up")
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


def measure(size: str, log_dir: Path) -> dict:
    sizes = SIZES[size]
    if sizes["warmup"]:
        measure_noop(sizes["warmup"], log_dir)
        measure_drain("audit", sizes["warmup"], log_dir)
    runs: dict[str, list[dict]] = {"noop": [], "raw_insert": [], "audit_live": []}
    runs |= {f"{consumer}_drain": [] for consumer in CONSUMERS}
    for _ in range(sizes["repeats"]):
        runs["noop"].append(measure_noop(sizes["noop"], log_dir))
        runs["raw_insert"].append(measure_raw_inserts(sizes["raw"]))
        for consumer in CONSUMERS:
            runs[f"{consumer}_drain"].append(measure_drain(consumer, sizes["drain"], log_dir))
        runs["audit_live"].append(measure_audit_live(sizes["live_s"], log_dir))
    summary = {name: harness.summarise(measured) for name, measured in runs.items()}
    summary["raw_single_insert"] = harness.summarise(runs["raw_insert"], "single_row_rate")
    scale = {}
    for name in sizes["scaled"]:
        measure_one = measure_noop if name == "noop" else partial(measure_drain, name)
        scale[name] = {
            str(n): measure_one(sizes["scale"], log_dir, concurrency=n) for n in sizes["processes"]
        }
    return {"size": size, "sizes": sizes, "summary": summary, "scale": scale}


if __name__ == "__main__":
    harness.run_alone("pipeline", measure, harness.size_arguments(__doc__).parse_args().size)
