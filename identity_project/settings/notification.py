"""Notification's own settings (NOTIFICATION): rate limit, sending, digests, retention."""

from identity_project.settings.environment import env

NOTIFICATION = {
    # E-mails per recipient and category per hour before the rest is folded into a digest
    # (urgent rules are never folded: they exist to arrive at once).
    "RATE_LIMIT_PER_HOUR": env.int("NOTIFICATION_RATE_LIMIT_PER_HOUR", default=5),
    "SEND_MAX_ATTEMPTS": env.int("NOTIFICATION_SEND_MAX_ATTEMPTS", default=6),
    "SEND_BACKOFF_FACTOR": env.float("NOTIFICATION_SEND_BACKOFF_FACTOR", default=2.0),
    "SEND_BACKOFF_MAX": env.float("NOTIFICATION_SEND_BACKOFF_MAX", default=300.0),
    "DIGEST_INTERVAL_SECONDS": env.int("NOTIFICATION_DIGEST_INTERVAL_SECONDS", default=900),
    # A hung SMTP server must not hold a worker (the urgent lane's above all): give up, retry later.
    "SMTP_TIMEOUT": env.float("NOTIFICATION_SMTP_TIMEOUT", default=10.0),
    # All of one attempt (connect, every answer): a server that trickles its answers is cut here.
    "SEND_DEADLINE": env.float("NOTIFICATION_SEND_DEADLINE", default=30.0),
    # Retention (notification/retention.py, daily): in-app notifications, "notified once" marks
    # (a mark removed lets the same thing notify again), and the rows that serialise decisions
    # (a gate is kept at least as long as the longest threshold window, which reads its last alert).
    "RETENTION_DAYS": {
        "notifications": env.int("NOTIFICATION_IN_APP_RETENTION_DAYS", default=90),
        "dedupe_marks": env.int("NOTIFICATION_DEDUPE_RETENTION_DAYS", default=365),
        "gates": env.int("NOTIFICATION_GATE_RETENTION_DAYS", default=7),
    },
    "RETENTION_BATCH": env.int("NOTIFICATION_RETENTION_BATCH", default=1000),
}
