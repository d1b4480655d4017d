"""Latency from commit to each consumer's outcome, p50/p95/p99, idle and behind a backlog:
  audit         commit to the audit entry (its received_at, stamped in the worker);
  notification  commit to the mail at a loopback SMTP server;
  webhook       commit to the signed POST at a loopback webhook receiver.

Laid out as production: a worker on each consumer queue (and on the urgent lane), the relay,
the on-commit fast path. Each sample is a PasswordChanged of its own user (a mandatory mail, one
webhook subscription for that type), committed one at a time, far enough apart (gap_s) that idle
samples never queue behind each other; the commit moment is taken by an
on-commit callback registered before the event, so it runs first. The backlog is sign-ins of
unknown users written into the outbox just before the samples: every consumer takes them,
none mails or posts them.

    python -m bench.latency [--quick | --smoke]
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from bench import cleanup, outbox, standalone, stats
from bench.launch import start_relay, start_worker
from bench.receivers import SmtpServer, WebhookReceiver

SIZES = {
    "full": {"samples": 100, "backlog": 20000, "gap_s": 0.3, "warmup": 10},
    "quick": {"samples": 20, "backlog": 2000, "gap_s": 0.25, "warmup": 3},
    "smoke": {"samples": 3, "backlog": 100, "gap_s": 0.0, "warmup": 0},
}
OUTCOMES = ("audit", "notification", "webhook")


def _commit_samples(users: list, gap: float) -> dict[str, tuple[str, float]]:
    """One PasswordChanged per user, each in its own transaction; email -> (event id, commit time)."""
    from django.db import transaction

    from identity.events import PasswordChanged
    from identity_project.eventbus.publisher import publish

    committed = {}
    for user in users:
        moment: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda moment=moment: moment.append(time.time()))
            envelope = publish(PasswordChanged(user_id=user.id, method="change", sessions_invalidated=0))
        committed[user.email] = (envelope["event_id"], moment[0])
        time.sleep(gap)
    return committed


def _audited_at(event_ids: list[str]) -> dict[str, float]:
    from audit.models import AuditEntry

    return {
        str(event_id): received.timestamp()
        for event_id, received in AuditEntry.objects.filter(event_id__in=event_ids).values_list(
            "event_id", "received_at"
        )
    }


def measure_round(
    *, samples: int, backlog: int, gap: float, smtp: SmtpServer, hooks: WebhookReceiver
) -> dict:
    from identity.models import User

    users = User.objects.bulk_create(
        [User(email=f"latency-{uuid.uuid4().hex[:10]}@bench.example") for _ in range(samples)]
    )
    if backlog:
        outbox.fill_outbox(outbox.sample_envelopes(backlog))
    committed = _commit_samples(users, gap)
    event_ids = [event_id for event_id, _ in committed.values()]

    def arrived() -> dict[str, dict[str, float]]:
        audited = _audited_at(event_ids)
        return {
            "audit": {email: audited[e] for email, (e, _) in committed.items() if e in audited},
            "notification": {e: smtp.mailbox.arrived[e] for e in committed if e in smtp.mailbox.arrived},
            "webhook": {email: hooks.arrived[e] for email, (e, _) in committed.items() if e in hooks.arrived},
        }

    deadline = time.monotonic() + 300 + backlog / 50
    while time.monotonic() < deadline and any(len(got) < samples for got in arrived().values()):
        time.sleep(0.1)
    result = {"backlog": backlog, "samples": samples}
    for outcome, got in arrived().items():
        latencies = [(at - committed[email][1]) * 1000 for email, at in got.items()]
        result[outcome] = stats.distribution(latencies)
    return result


def measure(size: str, log_dir: Path) -> dict:
    from integration.services import subscription_create

    sizes = SIZES[size]
    with SmtpServer() as smtp, WebhookReceiver() as hooks:
        cleanup.reset()
        subscription_create(url=hooks.url, event_types=["identity.password.changed"])
        env = {"EMAIL_URL": smtp.url, "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}
        workers = [
            start_worker("audit", log_dir, env=env),
            start_worker("notification", log_dir, env=env),
            start_worker("notification.urgent", log_dir, concurrency=1, env=env),
            start_worker("integration", log_dir, env=env),
        ]
        relay = start_relay(log_dir)
        try:
            common = {"gap": sizes["gap_s"], "smtp": smtp, "hooks": hooks}
            if sizes["warmup"]:
                measure_round(samples=sizes["warmup"], backlog=0, **common)
            idle = measure_round(samples=sizes["samples"], backlog=0, **common)
            behind = measure_round(samples=sizes["samples"], backlog=sizes["backlog"], **common)
        finally:
            relay.stop()
            for worker in workers:
                worker.stop()
    return {"size": size, "sizes": sizes, "idle": idle, "behind": behind}


if __name__ == "__main__":
    standalone.run_alone("latency", measure, standalone.size_arguments(__doc__).parse_args().size)
