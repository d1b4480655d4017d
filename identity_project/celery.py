"""The Celery application; its configuration is read from Django's settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_project.settings")

app = Celery("identity_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
