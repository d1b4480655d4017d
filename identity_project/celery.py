"""The Celery application; its configuration is read from Django's settings (CELERY_*)."""

import os

from celery import Celery

from identity_project.eventbus import wire

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_project.settings")

app = Celery("identity_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The consumers' messages are written with orjson (eventbus/wire.py).
wire.register_serializer()
