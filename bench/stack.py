"""The platform as production lays it out, for the parts that measure requests (logins,
refreshes, alarm): the relay and a worker per consumer queue (audit, notification and its urgent
lane, integration, as latency.py starts them) with a loopback SMTP server for the mails, beside
the part's own gunicorn; and the wait until every event the requests committed is consumed.

    with stack.running(log_dir) as pipeline:
        web, url = launch.start_web(log_dir)
        measured = stack.measure_load(pipeline, web, url, "refresh", states=..., step=..., seconds=10)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from bench import clients, cpu, launch, readings, stats
from bench.launch import Process
from bench.receivers import SmtpServer

# (queue, worker processes); the urgent lane has a worker of one process, as in latency.py.
WORKERS = (("audit", 2), ("notification", 2), ("notification.urgent", 1), ("integration", 2))
CONSUMERS = ("audit", "notification", "integration")


class Pipeline:
    """The running relay and workers."""

    def __init__(self, relay: Process, workers: list[Process]) -> None:
        self.relay, self.workers = relay, workers

    def cpu(self, web: Process) -> dict[str, dict[int, float]]:
        """CPU seconds so far of gunicorn, the relay, the workers, PostgreSQL, RabbitMQ and the clients."""
        processes = {"web": [web.pid], "relay": [self.relay.pid], "workers": [w.pid for w in self.workers]}
        return cpu.usage(processes | cpu.services(), clients=True)


@contextlib.contextmanager
def running(log_dir: Path, *, env: dict[str, str] | None = None) -> Iterator[Pipeline]:
    """The relay and the consumers' workers for the block; `env` points them elsewhere (a broker)."""
    with SmtpServer() as smtp:
        worker_env = {**(env or {}), "EMAIL_URL": smtp.url}
        workers: list[Process] = []
        relay = None
        try:
            for queue, processes in WORKERS:
                workers.append(launch.start_worker(queue, log_dir, concurrency=processes, env=worker_env))
            relay = launch.start_relay(log_dir, env=env)
            yield Pipeline(relay, workers)
        finally:
            launch.stop_all([*workers, *([relay] if relay else [])])


def backlog() -> int:
    """Events committed since the last reset that a consumer has not handled yet."""
    from django.db.models import Count

    from identity_project.eventbus import consumer_registry
    from identity_project.eventbus.models import OutboxEvent

    committed = dict(OutboxEvent.objects.order_by().values_list("type").annotate(n=Count("id")))
    left = 0
    for name in CONSUMERS:
        wants = consumer_registry.get_consumer(name).wants_now()
        expected = sum(n for event_type, n in committed.items() if wants(event_type))
        left += max(0, expected - readings.processed(name))
    return left


def wait_consumed(timeout: float = 300) -> float:
    """Wait until every committed event is consumed; returns how long that took (s)."""
    started = time.monotonic()
    launch.wait_until(
        lambda: backlog() == 0, timeout=timeout, what="the consumers to handle every event", every=0.2
    )
    return time.monotonic() - started


def measure_load(pipeline: Pipeline, web: Process, url: str, kind: str, **load) -> dict:
    """clients.load(url, **load) with the pipeline at work, for the requests of `kind`: the rate
    counts from the first request until every event the requests committed was consumed, and the
    CPU each process spent in that time per request (ms); the client rate stops at the last answer."""
    wait_consumed()
    before = pipeline.cpu(web)
    started = time.monotonic()
    measured = clients.load(url, **load)
    lag = wait_consumed()
    elapsed = time.monotonic() - started
    after = pipeline.cpu(web)
    timings = measured["kinds"].get(kind, {"ok_ms": [], "failed_ms": []})
    done = len(timings["ok_ms"])
    latency = stats.distribution(timings["ok_ms"])
    latency.pop("samples_ms", None)
    return {
        "requests": done,
        "failed": len(timings["failed_ms"]),
        "rate": round(done / elapsed, 2),
        "client_rate": round(done / measured["seconds"], 2),
        "consumed_after_s": round(lag, 2),
        "latency": latency,
        "cpu_ms": cpu.per_unit(before, after, max(done, 1), scale=1e3),
    }
