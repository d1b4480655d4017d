"""Benchmark of the urgent lane: from the commit of a suspicious login to its mail at the SMTP
server, p50/p95/p99, idle and behind a backlog of routine notification events.

Laid out as production: one worker on `notification` (routine), one on `notification.urgent`,
and the relay; a real SMTP server (aiosmtpd) on loopback receives the mails. The backlog is
committed first and relayed onto the routine queue; the suspicious logins follow one by one.

    python -m bench.alerts [--quick | --smoke]
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from bench import cleanup, launch, readings, standalone, stats
from bench.launch import start_relay, start_worker
from bench.receivers import SmtpServer

SIZES = {
    "full": {"backlog": 20000, "samples": 40, "warmup": 5},
    "quick": {"backlog": 2000, "samples": 10, "warmup": 2},
    "smoke": {"backlog": 100, "samples": 2, "warmup": 0},
}


def measure_round(*, backlog: int, samples: int, smtp: SmtpServer) -> dict:
    from django.db import transaction

    from identity.events import SuspiciousLoginDetected, UserLoggedIn
    from identity.models import User
    from identity_project.eventbus import routing
    from identity_project.eventbus.models import OutboxEvent
    from identity_project.eventbus.publisher import publish

    cleanup.reset()
    User.objects.filter(email__endswith="@alerts.bench").delete()
    users = User.objects.bulk_create(
        [User(email=f"u{i}-{uuid.uuid4().hex[:6]}@alerts.bench") for i in range(samples + 1)]
    )
    routine_user, targets = users[0], users[1:]
    if backlog:
        for start in range(0, backlog, 500):
            with transaction.atomic():
                for n in range(start, min(backlog, start + 500)):
                    address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
                    publish(
                        UserLoggedIn(
                            user_id=routine_user.id, session_id=uuid.uuid4(), ip_address=address,
                            user_agent="bench", mfa_used=False, door="api", method="password", device_id=None,
                        )
                    )  # fmt: skip
        launch.wait_until(
            lambda: not OutboxEvent.objects.exists(),
            timeout=300,
            what="the backlog to be relayed",
        )
    queued_before = readings.queue_depth(routing.NOTIFICATION)
    committed = {}
    for user in targets:
        moment: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda moment=moment: moment.append(time.time()))
            publish(
                SuspiciousLoginDetected(
                    user_id=user.id,
                    ip_address="203.0.113.9",
                    risk_level="high",
                    risk_factors=["new_network"],
                )
            )
        committed[user.email] = moment[0]
        time.sleep(0.2)
    queued_after = readings.queue_depth(routing.NOTIFICATION)
    arrived = smtp.mailbox.arrived
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(e in arrived for e in committed):
        time.sleep(0.05)
    latencies = [(arrived[e] - t) * 1000 for e, t in committed.items() if e in arrived]
    return {
        "backlog": backlog,
        "routine_messages_queued": [queued_before, queued_after],
        "samples": samples,
        "delivered": len(latencies),
        **stats.distribution(latencies),
    }


def measure(size: str, log_dir: Path) -> dict:
    sizes = SIZES[size]
    with SmtpServer() as smtp:
        env = {"EMAIL_URL": smtp.url}
        processes = [
            start_worker("notification", log_dir, concurrency=1, env=env),
            start_worker("notification.urgent", log_dir, concurrency=1, env=env),
            start_relay(log_dir),
        ]
        try:
            if sizes["warmup"]:
                measure_round(backlog=0, samples=sizes["warmup"], smtp=smtp)
            idle = measure_round(backlog=0, samples=sizes["samples"], smtp=smtp)
            behind = measure_round(backlog=sizes["backlog"], samples=sizes["samples"], smtp=smtp)
        finally:
            for process in processes:
                process.stop()
    ratio = (
        round(behind["p99_ms"] / idle["p99_ms"], 2) if idle.get("p99_ms") and behind.get("p99_ms") else None
    )
    return {"size": size, "sizes": sizes, "idle": idle, "behind": behind, "ratio": ratio}


if __name__ == "__main__":
    standalone.run_alone("alerts", measure, standalone.size_arguments(__doc__).parse_args().size)
