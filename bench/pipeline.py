"""Benchmark of the event pipeline on the production stack (PostgreSQL, RabbitMQ, real workers).

Measured in one run, so that ratios hold on a shared machine whose absolute speed drifts:
  noop             raw Celery no-op tasks drained per second, same broker, queue type and worker
                   settings as the consumers (the baseline);
  raw_insert       PostgreSQL's own rates for the rows audit stores, into a copy of the audit
                   table: COPY of audit-batch-sized transactions (the target's baseline), INSERT
                   in 100-row transactions, single-row INSERT+COMMIT (and of outbox rows into a
                   copy of the outbox table: publish()'s baseline); and the COPY into a table
                   with a primary key only;
  <consumer>_drain events per second from a committed backlog in the outbox to the consumer's
                   handled events (relay + that consumer's worker alone), for audit, notification
                   and integration (with a subscription that selects them);
  audit_live       events per second from commit to audit row while one producer commits one event
                   per transaction through publish() (the relay woken by its doorbell);
  scale            the drain rate of audit and notification (and the no-op rate) with 1, 2 and 4
                   worker processes.

    python -m bench.pipeline [--quick | --smoke]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from bench import cleanup, cpu, outbox, readings, standalone, stats
from bench.harness import CONCURRENCY
from bench.launch import start_relay, start_worker, wait_until
from bench.receivers import WebhookReceiver

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

    payload = outbox.sample_envelopes(1)
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            noop.apply_async(args=(payload,), queue="bench.noop", producer=producer)
    worker = start_worker("bench.noop", log_dir, concurrency=concurrency)
    try:
        started = None
        while True:
            depth = readings.queue_depth("bench.noop")
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


def _audit_rows(count: int) -> list[dict]:
    """The rows audit stores for `count` sample events, hashed and ready to insert."""
    from django.utils import timezone

    from audit import chain
    from audit.services.ingestion import entry_row

    rows, prev_hash, now = [], chain.GENESIS, timezone.now()
    for envelope in outbox.sample_envelopes(count):
        row = entry_row(envelope) | {"received_at": now, "prev_hash": prev_hash}
        row["hash"] = prev_hash = chain.entry_hash(prev_hash, row)
        rows.append(row)
    return rows


def _copy(cursor, table: str, rows: list[dict], columns: tuple[str, ...], batch: int) -> float:
    """COPY `rows` into `table`, one transaction per `batch` rows; returns rows per second."""
    from audit.services.ingestion import copy_values

    started = time.monotonic()
    for start in range(0, len(rows), batch):
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows[start : start + batch]:
                copy.write_row(copy_values(row, columns))
        cursor.connection.commit()
    return len(rows) / (time.monotonic() - started)


def _insert(cursor, table: str, rows: list[dict], columns: tuple[str, ...], batch: int) -> float:
    """INSERT `rows` into `table` (psycopg's executemany, pipelined), one transaction per `batch`."""
    from audit.services.ingestion import copy_values

    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    started = time.monotonic()
    for start in range(0, len(rows), batch):
        cursor.executemany(statement, [copy_values(row, columns) for row in rows[start : start + batch]])
        cursor.connection.commit()
    return len(rows) / (time.monotonic() - started)


def measure_raw_inserts(count: int) -> dict:
    """PostgreSQL's own rates for the rows audit stores, from one connection, nothing else around:

    rate              COPY of the same rows into a copy of the audit table (its unique event_id and
                      search indexes), one transaction per audit batch (EVENTBUS_BATCH_SIZE rows):
                      the fastest way in, and the baseline of issue #6's "raw bulk-insert rate of
                      the same rows";
    insert_rate       INSERT of the same rows in 100-row transactions, the baseline as issue #6
                      describes it ("30,000 rows/s in 100-row transactions"), for reference;
    plain_rate        the COPY into a table with a primary key only: what the rows would cost
                      without the search's indexes, for reference;
    single_row_rate   single-row INSERT+COMMIT into the audit table's copy;
    outbox_single_row_rate
                      single-row INSERT+COMMIT of the same events' rows into a copy of the outbox
                      table (its unique event_id and index): the baseline of publish()."""
    from django.conf import settings
    from django.db import connection

    from audit.models import AuditEntry
    from audit.services.ingestion import COPY_COLUMNS

    columns = tuple(name for name in COPY_COLUMNS if name != "id")
    batch = settings.EVENTBUS["BATCH_SIZE"]
    audit_table = AuditEntry._meta.db_table
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_raw_audit (LIKE {audit_table} INCLUDING ALL)")
        cursor.execute(
            f"CREATE TABLE bench_raw_plain (LIKE {audit_table} INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        cursor.execute("ALTER TABLE bench_raw_plain ADD PRIMARY KEY (id)")
        raw.commit()
        try:
            rate = _copy(cursor, "bench_raw_audit", _audit_rows(count), columns, batch)
            plain_rate = _copy(cursor, "bench_raw_plain", _audit_rows(count), columns, batch)
            cursor.execute("TRUNCATE bench_raw_audit")
            raw.commit()
            insert_rate = _insert(cursor, "bench_raw_audit", _audit_rows(count), columns, 100)
            single_rate = _insert(cursor, "bench_raw_audit", _audit_rows(max(count // 10, 50)), columns, 1)
            outbox_single_rate = _outbox_single_rows(cursor, max(count // 10, 50))
        finally:
            raw.rollback()
            cursor.execute("DROP TABLE IF EXISTS bench_raw_audit, bench_raw_plain, bench_raw_outbox")
            raw.commit()
    return {
        "rate": round(rate, 1),
        "insert_rate": round(insert_rate, 1),
        "plain_rate": round(plain_rate, 1),
        "single_row_rate": round(single_rate, 1),
        "outbox_single_row_rate": round(outbox_single_rate, 1),
        "batch": batch,
    }


def _outbox_single_rows(cursor, count: int) -> float:
    """Single-row INSERT+COMMIT of `count` sample events' outbox rows into a copy of the outbox
    table, from this connection alone: what publish() of one event per transaction is held to."""
    from django.utils import timezone

    from identity_project.eventbus.models import OutboxEvent

    cursor.execute(f"CREATE TABLE bench_raw_outbox (LIKE {OutboxEvent._meta.db_table} INCLUDING ALL)")
    cursor.connection.commit()
    placeholders = ", ".join(["%s"] * len(outbox.OUTBOX_COLUMNS.split(",")))
    statement = f"INSERT INTO bench_raw_outbox ({outbox.OUTBOX_COLUMNS}) VALUES ({placeholders})"
    rows = [outbox.outbox_row(e, timezone.now()) for e in outbox.sample_envelopes(count)]
    started = time.monotonic()
    for row in rows:
        cursor.execute(statement, row)
        cursor.connection.commit()
    return len(rows) / (time.monotonic() - started)


def measure_drain(consumer: str, count: int, log_dir: Path, *, concurrency: int = CONCURRENCY) -> dict:
    """Commit `count` events to the outbox, then let the relay and this consumer's worker (alone)
    take them; the rate comes from the consumer's claim timestamps. The CPU each process spent
    per event is read from the filling of the outbox (its COPY is in PostgreSQL's share) to the
    last event handled; the relay starts first, so that its start-up is over by then.

    Integration is sent only what a webhook subscription selects: its drain has one that selects
    every sampled event, posted to a receiver on loopback by the same worker. Its rate is the
    consumer's (events recorded as deliveries); the drain lasts until the last webhook arrived,
    whose rate from the first POST to the last is `posted_rate`, and the CPU is read until then."""
    cleanup.reset()
    if consumer != "integration":
        return _drain(consumer, count, log_dir, concurrency=concurrency)
    with _subscribed() as hooks:
        drained = _drain(
            consumer, count, log_dir, concurrency=concurrency,
            env={"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}, done=lambda: len(hooks.arrived) >= count,
        )  # fmt: skip
    arrived = sorted(hooks.arrived.values())
    span = arrived[-1] - arrived[0]
    return drained | {"posted_rate": round((len(arrived) - 1) / span, 1) if span > 0 else 0.0}


@contextmanager
def _subscribed() -> Iterator[WebhookReceiver]:
    from integration.services import subscription_create

    with WebhookReceiver() as hooks:
        subscription_create(url=hooks.url, event_types=[outbox.sample_event().type])
        yield hooks


def _drain(consumer: str, count: int, log_dir: Path, *, concurrency: int,
           env: dict[str, str] | None = None, done: Callable[[], bool] = lambda: True) -> dict:  # fmt: skip
    relay = start_relay(log_dir)
    worker = start_worker(consumer, log_dir, concurrency=concurrency, env=env)
    try:
        envelopes = outbox.sample_envelopes(count)
        processes = {"relay": [relay.pid], "worker": [worker.pid], **cpu.services()}
        before = cpu.usage(processes)
        outbox.fill_outbox(envelopes)
        wait_until(lambda: readings.processed(consumer) >= count, timeout=600, what=f"{consumer} to drain")
        wait_until(done, timeout=600, what=f"{consumer}'s sending to end")
        after = cpu.usage(processes)
    finally:
        relay.stop()
        worker.stop()
    return readings.drain_rate(consumer) | {"cpu_us": cpu.per_unit(before, after, count)}


def measure_audit_live(seconds: float, log_dir: Path) -> dict:
    """One producer commits one event per transaction through publish() for `seconds` (called on its
    own, so that its transaction is publish()'s, as the baseline's INSERT is its own); the rate is
    from the first commit to the last audit row."""
    from identity_project.eventbus.publisher import publish

    cleanup.reset()
    worker = start_worker("audit", log_dir)
    relay = start_relay(log_dir)
    committed = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            publish(outbox.sample_event())
            committed += 1
        produced_in = time.monotonic() - started
        wait_until(lambda: readings.processed("audit") >= committed, timeout=120, what="audit to catch up")
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
    summary = {name: stats.summarise(measured) for name, measured in runs.items()}
    summary["raw_insert_100"] = stats.summarise(runs["raw_insert"], "insert_rate")
    summary["raw_plain_insert"] = stats.summarise(runs["raw_insert"], "plain_rate")
    summary["raw_single_insert"] = stats.summarise(runs["raw_insert"], "single_row_rate")
    summary["raw_outbox_single_insert"] = stats.summarise(runs["raw_insert"], "outbox_single_row_rate")
    summary["integration_posted"] = stats.summarise(runs["integration_drain"], "posted_rate")
    scale = {}
    for name in sizes["scaled"]:
        measure_one = measure_noop if name == "noop" else partial(measure_drain, name)
        scale[name] = {
            str(n): measure_one(sizes["scale"], log_dir, concurrency=n) for n in sizes["processes"]
        }
    return {"size": size, "sizes": sizes, "summary": summary, "scale": scale}


if __name__ == "__main__":
    standalone.run_alone("pipeline", measure, standalone.size_arguments(__doc__).parse_args().size)
