"""Test settings: the production stack (PostgreSQL, RabbitMQ, Redis), isolated per test run.

Each run gets its own database (test_identity_<run>), RabbitMQ vhost (identity_test_<run>),
Redis key prefix and metrics folder, so runs never see each other's rows or steal each other's
messages. The run id is put in the environment, so worker and relay processes started by the tests
share it.
"""

import os
import socket
import tempfile
import uuid
from pathlib import Path


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        return udp.getsockname()[1]


RUN_ID = os.environ.setdefault("TEST_RUN_ID", uuid.uuid4().hex[:10])
RABBITMQ_HOST = os.environ.get("TEST_RABBITMQ_HOST", "127.0.0.1:5672")
RABBITMQ_VHOST = f"identity_test_{RUN_ID}"

# TEST_BROKER=redis runs the suite on Redis, the second broker a deployment may choose (make
# test-redis); its keys carry this run's prefix, so runs share the database without meeting.
TEST_BROKER = os.environ.get("TEST_BROKER", "rabbitmq")
REDIS_BROKER_URL = os.environ.get("TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/13")

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/identity")
os.environ.setdefault(
    "CELERY_BROKER_URL",
    REDIS_BROKER_URL if TEST_BROKER == "redis" else f"amqp://guest:guest@{RABBITMQ_HOST}/{RABBITMQ_VHOST}",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DEBUG", "false")
# Test clients and servers speak plain HTTP on loopback: no redirect to HTTPS.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + RUN_ID)
os.environ.setdefault("EVENTBUS_BACKOFF_FACTOR", "1.0")
# The run's own relay doorbell, shared with the processes it starts (a free port of this machine).
os.environ.setdefault("EVENTBUS_RELAY_WAKE", f"127.0.0.1:{_free_udp_port()}")
os.environ.setdefault("EVENTBUS_DELIVERY_LIMIT", "3")

from identity_project.eventbus import routing  # noqa: E402
from identity_project.settings import *  # noqa: E402, F403
from identity_project.settings import (  # noqa: E402
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_BROKER_URL,
    DATABASES,
    INSTALLED_APPS,
    LOGGING,
)

INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe", "tests.recording"]
# The run's own metrics folder, shared with the processes it starts (their settings name it too),
# set up as the platform's commands do (multiproc.py): never through the environment here.
PROMETHEUS_MULTIPROC_DIR = Path(tempfile.gettempdir()) / f"identity-test-metrics-{RUN_ID}"
DATABASES["default"]["TEST"] = {"NAME": f"test_identity_{RUN_ID}"}
# Runs share a Redis database: each keeps to its own keys (and removes only those).
CACHES["default"]["KEY_PREFIX"] = f"test-{RUN_ID}"
if routing.broker_is_redis(CELERY_BROKER_URL):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": f"test-{RUN_ID}:",
        # A killed worker's messages come back after seconds, not an hour; checked every second.
        "visibility_timeout": 20,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# aiosmtpd's debug chatter from its threads outlives pytest's captured streams.
LOGGING["loggers"]["mail.log"] = {"level": "WARNING"}

# What the run produced, for the secrets scan (tests/recording/records.py): every process of the
# run writes its log records here too, in production's JSON format.
TEST_RECORD_DIR = Path(tempfile.gettempdir()) / f"identity-test-records-{RUN_ID}"
(TEST_RECORD_DIR / "logs").mkdir(parents=True, exist_ok=True)
LOGGING["handlers"]["record"] = {
    "class": "logging.FileHandler",
    "filename": str(TEST_RECORD_DIR / "logs" / f"{os.getpid()}.jsonl"),
    "formatter": "json",
    "delay": True,
}
LOGGING["root"]["handlers"] = [*LOGGING["root"]["handlers"], "record"]
