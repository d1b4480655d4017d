"""The periodic tasks (Celery beat), every app's in one table."""

from datetime import timedelta

from identity_project.eventbus import routing
from identity_project.settings.integration import WEBHOOK_SWEEP_INTERVAL
from identity_project.settings.notification import NOTIFICATION

CELERY_BEAT_SCHEDULE = {
    "eventbus-drain-dead-letter-queues": {
        "task": "eventbus.drain_dead_letter_queues",
        "schedule": timedelta(seconds=30),
    },
    "eventbus-purge-history": {"task": "eventbus.purge_history", "schedule": timedelta(hours=24)},
    "eventbus-outbound-sweep": {"task": "eventbus.outbound.sweep", "schedule": timedelta(minutes=1)},
    "identity-expire-sessions": {"task": "identity.expire_sessions", "schedule": timedelta(minutes=1)},
    "identity-expire-grants": {"task": "identity.expire_grants", "schedule": timedelta(minutes=1)},
    "identity-compliance-check": {"task": "identity.compliance_check", "schedule": timedelta(hours=24)},
    "identity-unlock-lapsed-locks": {
        "task": "identity.unlock_lapsed_locks",
        "schedule": timedelta(minutes=1),
    },
    "identity-apply-retention": {"task": "identity.apply_retention", "schedule": timedelta(hours=24)},
    "audit-apply-retention": {
        "task": "audit.apply_retention",
        "schedule": timedelta(hours=24),
    },
    "notification-send-digests": {
        "task": "notification.send_digests",
        "schedule": timedelta(seconds=NOTIFICATION["DIGEST_INTERVAL_SECONDS"]),
        "options": {"queue": routing.NOTIFICATION},
    },
    "notification-apply-retention": {
        "task": "notification.apply_retention",
        "schedule": timedelta(hours=24),
        "options": {"queue": routing.NOTIFICATION},
    },
    "notification-purge-threshold-hits": {
        "task": "notification.purge_threshold_hits",
        "schedule": timedelta(hours=1),
        "options": {"queue": routing.NOTIFICATION},
    },
    "integration-sweep": {
        "task": "integration.sweep",
        "schedule": timedelta(seconds=WEBHOOK_SWEEP_INTERVAL),
        "options": {"queue": routing.INTEGRATION},
    },
    "integration-purge-deliveries": {
        "task": "integration.purge_deliveries",
        "schedule": timedelta(hours=24),
        "options": {"queue": routing.INTEGRATION},
    },
    "integration-siem-daily-summary": {
        "task": "integration.siem_daily_summary",
        "schedule": timedelta(hours=24),
        "options": {"queue": routing.INTEGRATION},
    },
}
