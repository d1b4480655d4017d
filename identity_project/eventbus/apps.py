"""The event bus as a Django app (its models: outbox, sequences, processed events, dead letters)."""

from django.apps import AppConfig


class EventbusConfig(AppConfig):
    name = "identity_project.eventbus"
    label = "eventbus"
    verbose_name = "Event pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from identity_project.eventbus import signals  # noqa: F401
        from identity_project.eventbus.outbound import resend  # noqa: F401 - its tasks: send and sweep
