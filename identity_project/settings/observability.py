"""Metrics (GET /metrics) and logging (structlog's JSON lines)."""

import ipaddress
from pathlib import Path

import structlog

from identity_project.settings.environment import VAR_DIR, env

# Every process of this host writes its counters to its own file here and the scrape adds them
# up. The commands that start the processes (gunicorn's config, the Celery worker, the relay) make
# the folder, clear what an earlier run left and set prometheus_client up (multiproc.py); importing
# the settings does neither.
PROMETHEUS_MULTIPROC_DIR = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default="") or VAR_DIR / "prometheus")
# Who may scrape: these networks (REMOTE_ADDR, never a forwarded header), or a request with
# "Authorization: Bearer <METRICS_TOKEN>" when a token is set. A reverse proxy on the same host
# must not pass /metrics through, or must be left out of these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network, strict=False)
    for network in env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
]

# --- logging ------------------------------------------------------------------------------
# Django hands LOGGING to this when it sets itself up, which first sets structlog's pipeline up.
LOGGING_CONFIG = "identity_project.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            "foreign_pre_chain": [
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
            ],
        },
    },
    "filters": {"database_unavailable": {"()": "identity_project.logs.DatabaseUnavailable"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["database_unavailable"]},
    },
}
