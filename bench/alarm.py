"""Benchmark of a broker alarm: sign-up and sign-in latency while RabbitMQ's memory alarm blocks
every connection that publishes, and whether each event committed meanwhile is audited after.

A private RabbitMQ node (tests/support/rabbitmq_node.py; the shared server is never alarmed)
carries the platform's web (gunicorn, 2 sync workers), relay and consumers' workers (stack.py),
all pointed at it by CELERY_BROKER_URL. A few client threads each sign up a new account
(POST auth/register) and sign in with it, at Keycloak's Argon2 cost, for the run's seconds with
no alarm, then as long with the alarm raised (a memory high watermark of 1 byte). Then the alarm
is cleared, the web stopped (its last requests finish), and the benchmark waits until every
event committed during the run is in the audit trail: those that arrived after the clearing
(committed under the alarm, or before it and still on their way, or after it by a request the web
was still answering), and those lost (never audited within `settle_s`).

Clients give up on a request after `timeout_s`: a request that hangs counts as failed, at the
time it was given up, instead of freezing the benchmark.

    python -m bench.alarm [--quick | --smoke]
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from bench import cleanup, clients, launch, logins, stack, standalone, stats
from bench.clients import Timings
from tests.support.rabbitmq_node import RabbitMQNode

SIZES = {
    "full": {"seconds": 30.0, "clients": 3, "timeout_s": 10.0, "settle_s": 120.0},
    "quick": {"seconds": 6.0, "clients": 3, "timeout_s": 10.0, "settle_s": 60.0},
    "smoke": {"seconds": 2.0, "clients": 2, "timeout_s": 3.0, "settle_s": 30.0},
}


def _sign_up_and_in(http: httpx.Client, client: int, timed: Timings) -> None:
    email = f"alarm-{client}-{uuid.uuid4().hex[:10]}@bench.example"
    account = {"email": email, "password": logins.PASSWORD}
    if timed("sign-up", lambda: http.post("/api/v1/auth/register", json=account), 201):
        logins.sign_in(http, email, timed)


def _phase(url: str, sizes: dict) -> dict:
    """Each kind's latency, a request given up on counted at the time it was given up."""
    measured = clients.load(
        url,
        states=list(range(sizes["clients"])),
        step=_sign_up_and_in,
        seconds=sizes["seconds"],
        timeout=sizes["timeout_s"],
    )
    phase = {}
    for kind, timings in measured["kinds"].items():
        latency = stats.distribution(timings["ok_ms"] + timings["failed_ms"])
        latency.pop("samples_ms", None)
        phase[kind] = latency | {"ok": len(timings["ok_ms"]), "failed": len(timings["failed_ms"])}
    return phase


def undispatched() -> int:
    from identity_project.eventbus.models import OutboxEvent

    return OutboxEvent.objects.count()


def _settle(seconds: float) -> float:
    """Wait (at most `seconds`) until every committed event is audited; returns how long it took."""
    from tests.support import ledger

    started = time.monotonic()
    while ledger.unaudited() and time.monotonic() - started < seconds:
        time.sleep(0.2)
    return round(time.monotonic() - started, 2)


def _ratio(alarmed: dict, calm: dict) -> float | None:
    """The worst kind's p99 with the alarm ÷ its p99 without."""
    ratios = [
        alarmed[kind]["p99_ms"] / calm[kind]["p99_ms"]
        for kind in calm
        if alarmed.get(kind, {}).get("count") and calm[kind].get("p99_ms")
    ]
    return round(max(ratios), 2) if ratios else None


def measure(size: str, log_dir: Path) -> dict:
    from tests.support import ledger

    sizes = SIZES[size]
    node = RabbitMQNode(prefix="bench-alarm")
    try:
        node.start()
        env = {"CELERY_BROKER_URL": node.url}
        cleanup.reset()
        ledger.install()
        with stack.running(log_dir, env=env):
            web, url = launch.start_web(log_dir, name="web-alarm", env=env | {"BENCH_HASHER": "keycloak"})
            try:
                calm = _phase(url, sizes)
                before_alarm = ledger.committed_count()
                node.memory_alarm(True)
                try:
                    alarmed = _phase(url, sizes)
                    at_clearing = ledger.committed_count()
                    audited_at_clearing = at_clearing - ledger.unaudited()
                finally:
                    node.memory_alarm(False)
            finally:
                web.stop()
            # Counted once the web stopped: a request it was still answering has committed by then.
            events = ledger.committed_count()
            settled_in = _settle(sizes["settle_s"])
            lost, left_in_outbox = ledger.unaudited(), undispatched()
    finally:
        ledger.remove()
        node.remove()
    return {
        "size": size,
        "sizes": sizes,
        "calm": calm,
        "alarm": alarmed,
        "ratio": _ratio(alarmed, calm),
        "events": {
            "committed": events,
            "committed_with_alarm": at_clearing - before_alarm,
            "committed_after_clearing": events - at_clearing,
            "audited_at_clearing": audited_at_clearing,
            "arrived_after_clearing": events - lost - audited_at_clearing,
            "lost": lost,
            "undispatched": left_in_outbox,
            "settled_in_s": settled_in,
        },
    }


if __name__ == "__main__":
    standalone.run_alone("alarm", measure, standalone.size_arguments(__doc__).parse_args().size)
