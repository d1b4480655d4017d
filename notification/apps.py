"""The notification app: e-mail and in-app alerts in reaction to events."""

from django.apps import AppConfig


class NotificationConfig(AppConfig):
    name = "notification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notification import consumer, tasks  # noqa: F401
