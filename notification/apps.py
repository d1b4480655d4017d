"""The notification app: e-mail and in-app alerts in reaction to events."""

from django.apps import AppConfig


class NotificationConfig(AppConfig):
    name = "notification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from identity_project.eventbus.outbound import resend
        from notification import channels, consumer, tasks  # noqa: F401

        resend.register(channels.email)
