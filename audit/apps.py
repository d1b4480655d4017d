"""The audit app: an append-only trail of every event of the catalog."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import consumer, selectors  # noqa: F401
        from operations.pipeline import register_history

        register_history(selectors.story_events)
