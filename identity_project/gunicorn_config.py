"""Gunicorn's hooks (`gunicorn --config python:identity_project.gunicorn_config`)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_project.settings")


def child_exit(server, worker) -> None:
    """A web worker that exits leaves its counters to the sum, and no live gauge behind."""
    from django.conf import settings
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
