"""Celery: the broker and its transport, the queues, the worker, the task modules."""

from identity_project.eventbus import failover, routing
from identity_project.settings.core import TIME_ZONE
from identity_project.settings.environment import VAR_DIR, env
from identity_project.settings.eventbus import EVENTBUS

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders are made once the Celery app is configured (identity_project/celery.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER / "queue"),
        "data_folder_out": str(BROKER_FOLDER / "queue"),
        "control_folder": str(BROKER_FOLDER / "control"),
        "processed_folder": str(BROKER_FOLDER / "processed"),
        "polling_interval": env.float("FILESYSTEM_BROKER_POLLING_INTERVAL", default=0.2),
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Unacked messages come back only after this; keep retry backoff far below it. Every socket
    # operation has the broker deadline.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": EVENTBUS["BROKER_TIMEOUT"],
        "socket_connect_timeout": EVENTBUS["BROKER_TIMEOUT"],
    }
else:
    # Publisher confirms, waited for at most BROKER_TIMEOUT (the relay's publish timeout, and the
    # socket's own for any other publisher, such as a task's retry); a socket write never blocks
    # longer either (RabbitMQ stops reading from a publisher it blocks on an alarm). A publisher
    # that cannot reach RabbitMQ gives up after one quick retry, or, given a cluster's nodes
    # (a failover list, eventbus/failover.py), after one try of each.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "confirm_publish": True,
        "read_timeout": EVENTBUS["BROKER_TIMEOUT"],
        "write_timeout": EVENTBUS["BROKER_TIMEOUT"],
        "max_retries": failover.connect_retries(CELERY_BROKER_URL),
        "interval_start": 0.2,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = EVENTBUS["BROKER_TIMEOUT"]
# The AMQP heartbeat a worker asks for, in seconds (RabbitMQ offers 60 and the lower wins).
# RabbitMQ closes a connection whose peer missed two heartbeats, and only then gives the worker's
# unacknowledged messages to the other workers: how long a worker host cut off from the network
# holds its share, urgent alerts included. Celery's 120 would make that two to three minutes; 30
# makes it one to one and a half, for a heartbeat frame each way every 15 s.
CELERY_BROKER_HEARTBEAT = env.float("CELERY_BROKER_HEARTBEAT", default=30.0)

# The queues, built from the registered consumers once apps are loaded (routing.ConsumerQueues),
# and the default one, where identity's tasks go.
CELERY_TASK_QUEUES = routing.ConsumerQueues(CELERY_BROKER_URL, EVENTBUS["DELIVERY_LIMIT"])
CELERY_TASK_DEFAULT_QUEUE = routing.IDENTITY
CELERY_TASK_DEFAULT_EXCHANGE = routing.EXCHANGE.name
CELERY_TASK_DEFAULT_EXCHANGE_TYPE = routing.EXCHANGE.type
CELERY_TASK_DEFAULT_ROUTING_KEY = routing.IDENTITY

CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_LOST_WAIT = 2.0
# Celery's Django fixup closes every database connection before and after each task unless this is
# set, and then only every that many tasks: a new PostgreSQL connection per message was a fifth of
# a worker's time handling a sign-in's events. Between those, each task starts with Django's
# close_old_connections() (eventbus/signals.py), as a request does: CONN_MAX_AGE and the health
# checks decide.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Task modules besides the apps' `tasks` (which autodiscovery finds): a task sits beside the
# function it runs, and whoever starts it imports it from there.
CELERY_IMPORTS = (
    "audit.services.exports",
    "audit.services.retention",
    "identity.retention",
    "identity.services.passwords",
    "integration.services.resume",
    "notification.retention",
)
