"""The event bus's own settings (EVENTBUS)."""

from identity_project.settings.environment import env

EVENTBUS = {
    # RabbitMQ quorum queues dead-letter a message after this many redeliveries (a message
    # that kills its worker every time); the drain moves it into the dead-letter store.
    "DELIVERY_LIMIT": env.int("EVENTBUS_DELIVERY_LIMIT", default=5),
    "MAX_RETRIES": env.int("EVENTBUS_MAX_RETRIES", default=8),
    "BACKOFF_FACTOR": env.float("EVENTBUS_BACKOFF_FACTOR", default=1.0),
    # Far below RabbitMQ's consumer_timeout and Redis's visibility timeout (CELERY-NOTES.md).
    "BACKOFF_MAX": env.float("EVENTBUS_BACKOFF_MAX", default=300.0),
    "BATCH_SIZE": env.int("EVENTBUS_BATCH_SIZE", default=1000),
    # An idle relay's poll; a commit rings its doorbell (host:port list, empty: poll only) at once.
    "RELAY_INTERVAL": env.float("EVENTBUS_RELAY_INTERVAL", default=0.5),
    "RELAY_WAKE": env.str("EVENTBUS_RELAY_WAKE", default="127.0.0.1:8769"),
    # While commits keep coming, the least time between two rounds that send (seconds): what
    # commits meanwhile travel together. The first event after a quiet spell does not wait.
    "RELAY_LINGER": env.float("EVENTBUS_RELAY_LINGER", default=0.01),
    # Where this relay listens (default: the first RELAY_WAKE address).
    "RELAY_LISTEN": env.str("EVENTBUS_RELAY_LISTEN", default=""),
    # The longest wait of a relay between two tries while the database or the broker fails (the
    # waits double from 1 s): an outage's events leave at most this long after it ends.
    "RELAY_RETRY_MAX": env.float("EVENTBUS_RELAY_RETRY_MAX", default=5.0),
    # The deadline of every broker call: connect, publish, confirm.
    "BROKER_TIMEOUT": env.float("EVENTBUS_BROKER_TIMEOUT", default=5.0),
    # Idempotency keys outlive any redelivery or replay that could still come.
    "PROCESSED_RETENTION_DAYS": env.int("EVENTBUS_PROCESSED_RETENTION_DAYS", default=90),
    # An outbound record pending this long past its next attempt (its task was lost) is swept.
    "OUTBOUND_SWEEP_AFTER": env.int("EVENTBUS_OUTBOUND_SWEEP_AFTER", default=120),
}
