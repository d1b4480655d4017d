"""The identity platform's Django project: settings, URLs, the Celery app and the event bus."""

from identity_project.celery import app as celery_app

__all__ = ["celery_app"]
