"""Benchmark settings: the production stack, in a database and vhost of the benchmark's own."""

import os

BENCH_ID = os.environ.setdefault("BENCH_ID", "bench")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/identity_{BENCH_ID}")
os.environ.setdefault("CELERY_BROKER_URL", f"amqp://guest:guest@127.0.0.1:5672/identity_{BENCH_ID}")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DEBUG", "false")
# The benchmark's clients speak plain HTTP on loopback: no redirect to HTTPS.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The benchmark measures sign-in cost, not the throttles that protect it.
os.environ.setdefault("THROTTLE_AUTH_IP", "1000000/min")
os.environ.setdefault("THROTTLE_AUTH_ACCOUNT", "1000000/min")
os.environ.setdefault("THROTTLE_TOKEN_REFRESH", "1000000/min")
# The webhook receiver the latency benchmark posts to listens on loopback.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")

from identity_project.eventbus import routing  # noqa: E402
from identity_project.settings import *  # noqa: E402, F403
from identity_project.settings import CELERY_BROKER_URL, EVENTBUS, INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
# The baseline's queue has the same arguments as the consumers' queues.
CELERY_TASK_QUEUES = routing.ConsumerQueues(
    CELERY_BROKER_URL, EVENTBUS["DELIVERY_LIMIT"], extra=("bench.noop",)
)

# `BENCH_HASHER=keycloak` signs in with Keycloak's Argon2 cost instead of Django's default.
if os.environ.get("BENCH_HASHER") == "keycloak":
    PASSWORD_HASHERS = ["bench.hashers.KeycloakArgon2PasswordHasher"]
