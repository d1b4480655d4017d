"""Gunicorn's hooks (`gunicorn --config python:identity_project.gunicorn_config`): the web's
workers write their counters where GET /metrics reads them (multiproc.py)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_project.settings")


def on_starting(server) -> None:
    """In the master, before it forks a worker (none has imported prometheus_client yet)."""
    from identity_project import multiproc

    multiproc.prepare("web")


def child_exit(server, worker) -> None:
    """A web worker that exits leaves its counters to the sum, and no live gauge behind."""
    from identity_project import multiproc

    multiproc.process_exited(worker.pid)
