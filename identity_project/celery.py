"""The Celery application; its configuration is read from Django's settings (CELERY_*), and the
filesystem broker's folders are made once it is read.

A worker prepares prometheus_client's multiprocess mode when it starts (`celeryd_init`, in the
main process, before Django's apps load and before the pool forks its children), so every pool
child writes its counters where GET /metrics reads them (multiproc.py).
"""

import os
from pathlib import Path

from celery import Celery, signals

from identity_project.eventbus import wire

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_project.settings")

app = Celery("identity_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The consumers' messages are written with orjson (eventbus/wire.py).
wire.register_serializer()


@app.on_after_configure.connect
def _make_broker_folders(sender: Celery, **_: object) -> None:
    """The filesystem broker's folders, made by the first process that uses the broker (kombu's
    transport lists them without making them)."""
    if sender.conf.broker_url.startswith("filesystem://"):
        options = sender.conf.broker_transport_options
        for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@signals.celeryd_init.connect
def _worker_starting(**_: object) -> None:
    from identity_project import multiproc

    multiproc.prepare("worker")


@signals.worker_process_shutdown.connect
def _pool_child_exited(pid: int | None = None, **_: object) -> None:
    """A pool child that exits leaves its counters to the sum, and no live gauge behind."""
    from identity_project import multiproc

    if pid is not None:
        multiproc.process_exited(pid)
