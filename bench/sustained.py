"""Sustained end-to-end throughput: every consumer at work at once, as production lays them out
(a worker per consumer queue, one relay), fed for at least 60 s; events per second per consumer,
second by second.

Two sources of events:
  single       sign-ins of unknown users, one event type;
  login_flows  the events real login flows published through the API (sign-in, a refreshed
               token, a logout, a wrong password), recorded once and replayed with fresh event
               and correlation ids: the mix of types production sees.

A feeder keeps the outbox stocked (COPY) so that the pipeline, never the producer, sets the
pace. The first seconds are a warm-up and not counted. Notification's worker takes both its lanes.

Consumers take different shares of a login flow (audit all its events, notification the two it has
rules for), so their events/s are not comparable as they are: a flow's events routed to each
consumer are recorded, and flows/s (events/s ÷ that count) is how fast each gets through the mix.

    python -m bench.sustained [--quick | --smoke]
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import cleanup, launch, outbox, readings, standalone
from bench.launch import start_relay, start_worker
from bench.receivers import SmtpServer

CONSUMERS = ("audit", "notification", "integration")
SIZES = {
    "full": {"seconds": 60, "warmup_s": 5, "stock": 20000, "flows": 20},
    "quick": {"seconds": 8, "warmup_s": 2, "stock": 4000, "flows": 4},
    "smoke": {"seconds": 2, "warmup_s": 0, "stock": 300, "flows": 1},
}
PASSWORD = "Bench-Password-1234"


def record_login_flows(count: int) -> list[list[dict]]:
    """Run `count` real login flows through the API (in process, with the pipeline stopped) and
    return each flow's envelopes, in the order they were published."""
    from rest_framework.test import APIClient

    from identity.models import User
    from identity_project.eventbus.models import OutboxEvent

    cleanup.reset()
    flows = []
    for n in range(count):
        email = f"flow-{n}-{uuid.uuid4().hex[:6]}@bench.example"
        User.objects.create_user(email, PASSWORD)
        since = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        client = APIClient(REMOTE_ADDR=f"198.51.100.{n % 250 + 1}", HTTP_USER_AGENT="bench-browser/1.0")
        client.post("/api/v1/auth/login", {"email": email, "password": "not-the-password"}, format="json")
        tokens = client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, format="json")
        pair = tokens.json()
        refreshed = client.post(
            "/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json"
        ).json()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.get('access', pair['access'])}")
        client.post("/api/v1/auth/logout", {}, format="json")
        flows.append(
            list(OutboxEvent.objects.filter(id__gt=since).order_by("id").values_list("envelope", flat=True))
        )
    cleanup.reset()
    return flows


def replay(flows: list[list[dict]], count: int, cycle: itertools.cycle) -> list[dict]:
    """`count` envelopes from the recorded flows, each copy with fresh event and correlation ids."""
    envelopes: list[dict] = []
    while len(envelopes) < count:
        correlation_id = uuid.uuid4().hex
        for envelope in flows[next(cycle)]:
            envelopes.append({**envelope, "event_id": str(uuid.uuid4()), "correlation_id": correlation_id})
    return envelopes


class Feeder(threading.Thread):
    """Keeps at least `stock` events pending in the outbox until stopped."""

    def __init__(self, make: Callable[[int], list[dict]], stock: int) -> None:
        super().__init__(daemon=True)
        self.make, self.stock = make, stock
        self.stopping = threading.Event()
        self.fed = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from django.db import connection

        from identity_project.eventbus.models import OutboxEvent

        try:
            while not self.stopping.is_set():
                pending = OutboxEvent.objects.count()
                if pending < self.stock:
                    batch = self.make(self.stock)
                    outbox.fill_outbox(batch)
                    self.fed += len(batch)
                self.stopping.wait(0.25)
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()


def measure_source(source: str, sizes: dict, log_dir: Path) -> dict:
    """One source fed for the run's seconds, with the consumers' workers already running."""
    time.sleep(1.0)  # what the workers had prefetched of the source before is done with
    cleanup.reset()
    if source == "single":
        make = outbox.sample_envelopes
    else:
        flows = record_login_flows(sizes["flows"])
        cycle = itertools.cycle(range(len(flows)))

        def make(count: int) -> list[dict]:
            return replay(flows, count, cycle)

    feeder = Feeder(make, sizes["stock"])
    relay = start_relay(log_dir)
    try:
        feeder.start()
        # Counted from the first event audited: the relay's start-up is no part of the pipeline's pace.
        launch.wait_until(lambda: readings.processed("audit") > 0, timeout=120, what="the first audit entry")
        since = datetime.now(UTC)
        time.sleep(sizes["seconds"] + sizes["warmup_s"])
        feeder.stopping.set()
        feeder.join()
    finally:
        relay.stop()
    if feeder.error:
        raise feeder.error
    result = {"source": source, "fed": feeder.fed, "consumers": {}}
    if source == "login_flows":
        types = [e["type"].removeprefix("identity.") for e in flows[0]]
        result["flow"] = types
        result["routed_per_flow"] = {consumer: routed_per_flow(consumer, flows) for consumer in CONSUMERS}
    window = slice(sizes["warmup_s"], sizes["warmup_s"] + sizes["seconds"])
    for consumer in CONSUMERS:
        per_second = readings.timeline(consumer, since)
        counted = per_second[window]
        result["consumers"][consumer] = {
            "rate": round(sum(counted) / max(len(counted), 1), 1),
            "seconds": len(counted),
            "per_second_median": statistics.median(counted) if counted else 0,
            "per_second_min": min(counted, default=0),
            "per_second_max": max(counted, default=0),
            "timeline": per_second,
        }
    return result


def routed_per_flow(consumer: str, flows: list[list[dict]]) -> float:
    """How many events of a recorded flow the relay sends the consumer, on average (none to
    integration: the run has no webhook subscription)."""
    from identity_project.eventbus.consumer_registry import get_consumer

    routing = get_consumer(consumer).route_committed
    routed = sum(len(envelopes) for flow in flows for _, envelopes in routing(flow))
    return round(routed / len(flows), 2)


def _lanes(consumer) -> str:
    """The consumer's queue and its urgent lane, if it has one, as a worker's -Q."""
    return ",".join(filter(None, (consumer.queue, consumer.urgent_queue)))


def measure(size: str, log_dir: Path) -> dict:
    from identity_project.eventbus.consumer_registry import get_consumer

    sizes = SIZES[size]
    with SmtpServer() as smtp:
        workers = [
            start_worker(_lanes(get_consumer(consumer)), log_dir, env={"EMAIL_URL": smtp.url})
            for consumer in CONSUMERS
        ]
        try:
            sources = {source: measure_source(source, sizes, log_dir) for source in ("single", "login_flows")}
        finally:
            for worker in workers:
                worker.stop()
    return {"size": size, "sizes": sizes, "sources": sources}


if __name__ == "__main__":
    standalone.run_alone("sustained", measure, standalone.size_arguments(__doc__).parse_args().size)
