"""Benchmark of the urgent lane: from the commit of a suspicious login to its mail at the SMTP
server, p50/p95/p99, idle and behind a backlog of routine notification events.

Laid out as production: one worker on `notification` (routine), one on `notification.urgent`,
and the relay; a real SMTP server (aiosmtpd) on loopback receives the mails. The backlog is
committed first and relayed onto the routine queue; the suspicious logins follow one by one.

    python -m bench.alerts [--backlog N] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

from bench.harness import RESULTS, Process, create_services, drop_services


class Mailbox:
    """The SMTP server's handler: when each recipient's first mail arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.arrived.setdefault(recipient, now)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start(queue: str, log_dir, env_extra: dict[str, str]) -> Process:
    os.environ.update(env_extra)
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "identity_project", "worker", "-Q", queue, "-c", "1",
         "-P", "prefork", "--without-gossip", "--without-mingle", "-l", "INFO", "-n", f"{queue}@%h"],
        f"worker-{queue}",
        log_dir,
    )  # fmt: skip
    worker.wait_ready("ready.")
    return worker


def measure(*, backlog: int, samples: int, smtp_port: int, mailbox: Mailbox, log_dir) -> dict:
    from django.conf import settings
    from django.db import transaction

    from bench.pipeline import queue_depth, reset_tables
    from identity.events import SuspiciousLoginDetected, UserLoggedIn
    from identity.models import User
    from identity_project.eventbus import routing
    from identity_project.eventbus.models import OutboxEvent
    from identity_project.eventbus.publisher import publish

    reset_tables()
    User.objects.filter(email__endswith="@alerts.bench").delete()
    users = User.objects.bulk_create(
        [User(email=f"u{i}-{uuid.uuid4().hex[:6]}@alerts.bench") for i in range(samples + 1)]
    )
    routine_user, targets = users[0], users[1:]
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}"}
    routine = _start("notification", log_dir, env)
    urgent = _start("notification.urgent", log_dir, env)
    relay = Process([sys.executable, "manage.py", "relay_outbox", "--interval", "0.1"], "relay", log_dir)
    try:
        if backlog:
            settings.EVENTBUS["FAST_PATH"] = False
            for start in range(0, backlog, 500):
                with transaction.atomic():
                    for n in range(start, min(backlog, start + 500)):
                        address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
                        publish(
                            UserLoggedIn(
                                user_id=routine_user.id, session_id=uuid.uuid4(), ip_address=address,
                                user_agent="bench", mfa_used=False, device_id=None,
                            )
                        )  # fmt: skip
            settings.EVENTBUS["FAST_PATH"] = True
            while OutboxEvent.objects.filter(dispatched_at__isnull=True).exists():
                time.sleep(0.1)
        queued_before = queue_depth(routing.NOTIFICATION)
        committed = {}
        for user in targets:
            with transaction.atomic():
                publish(
                    SuspiciousLoginDetected(
                        user_id=user.id,
                        ip_address="203.0.113.9",
                        risk_level="high",
                        risk_factors=["new_network"],
                    )
                )
            committed[user.email] = time.monotonic()
            time.sleep(0.2)
        queued_after = queue_depth(routing.NOTIFICATION)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(e in mailbox.arrived for e in committed):
            time.sleep(0.05)
        latencies = [(mailbox.arrived[e] - t) * 1000 for e, t in committed.items() if e in mailbox.arrived]
    finally:
        relay.stop()
        urgent.stop()
        routine.stop()
    return {
        "backlog": backlog,
        "routine_messages_queued": [queued_before, queued_after],
        "samples": samples,
        "delivered": len(latencies),
        "p50_ms": round(_percentile(latencies, 0.5), 1),
        "p95_ms": round(_percentile(latencies, 0.95), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.mean(latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    create_services()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        measure(backlog=0, samples=5, smtp_port=port, mailbox=mailbox, log_dir=log_dir)  # warm-up
        idle = measure(backlog=0, samples=args.samples, smtp_port=port, mailbox=mailbox, log_dir=log_dir)
        behind = measure(
            backlog=args.backlog, samples=args.samples, smtp_port=port, mailbox=mailbox, log_dir=log_dir
        )
    finally:
        controller.stop()
        drop_services()
    report(idle, behind)


def _row(name: str, m: dict) -> str:
    return f"| {name} | {m['delivered']}/{m['samples']} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} |"


def report(idle: dict, behind: dict) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ratio = round(behind["p99_ms"] / idle["p99_ms"], 2)
    lines = [
        f"# Urgent alert benchmark {stamp}",
        "",
        f"{os.cpu_count()} cores; one worker on notification, one on notification.urgent, a relay; "
        "aiosmtpd on loopback.",
        "",
        "| suspicious login → mail | delivered | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|",
        _row("idle", idle),
        _row(f"behind {behind['backlog']} routine events", behind),
        "",
        f"p99 behind the backlog / idle p99: {ratio} (target ≤ 3). Routine messages (50 events each) still "
        f"queued when the first and after the last urgent event was committed: "
        f"{behind['routine_messages_queued'][0]}, {behind['routine_messages_queued'][1]}.",
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"alerts-{stamp}.json").write_text(
        json.dumps({"idle": idle, "behind": behind, "ratio": ratio}, indent=2)
    )
    (RESULTS / "alerts-latest.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
